"""The dictionary pages: search and filter the variables, the version history with what each
version changed, downloads, and the data manager's import form.

Each view parses its input, calls ``catalog.services`` (which checks the policy and audits),
and renders the result. The import form's file is held in memory only (``forms``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from cohortvault.access.policy import Action, Principal
from cohortvault.access.requirements import requires
from cohortvault.catalog import markdown, services
from cohortvault.catalog.formats import Format
from cohortvault.catalog.forms import (
    TOO_LARGE,
    UPLOAD_LIMIT,
    ImportForm,
    SearchForm,
    problems_of,
)
from cohortvault.catalog.schema import Variable
from cohortvault.errors import CohortvaultError, Conflict, Invalid, NotFound
from cohortvault.files.forms import hold_in_memory

FORMATS = [f.value for f in Format]


@dataclass(frozen=True)
class Row:
    """A variable with its constraints put into words for the table."""

    variable: Variable
    range: str
    missing: str

    @classmethod
    def of(cls, v: Variable) -> Row:
        return cls(variable=v, range=markdown.value_range(v), missing=markdown.missing_codes(v))


def _principal(request: HttpRequest) -> Principal:
    return request.principal  # type: ignore[attr-defined,no-any-return]


@requires(action=Action.READ, resource="data dictionary")
@require_GET
def dictionary(request: HttpRequest) -> HttpResponse:
    return _page(request, ImportForm())


def _page(
    request: HttpRequest,
    import_form: ImportForm,
    *,
    refusal: CohortvaultError | None = None,
    problems: list[dict[str, str]] | None = None,
) -> HttpResponse:
    principal = _principal(request)
    history = services.history(principal)
    numbers = [entry.info.number for entry in history]
    raw = request.GET.get("version", "")
    wanted = int(raw) if raw.isascii() and raw.isdigit() else None
    if wanted is not None and wanted not in numbers:
        raise NotFound(f"The data dictionary has no version {wanted}.")
    shown = services.version(wanted or numbers[0], principal) if numbers else None
    domains = list(markdown.domains(shown)) if shown else []
    form = SearchForm(request.GET or None, domains=domains)
    filters = form.values() if request.GET else {}
    variables = (
        services.search(
            shown,
            text=filters.get("q", ""),
            domain=filters.get("domain", ""),
            sensitivity=filters.get("sensitivity", ""),
        )
        if shown
        else []
    )
    context = {
        "dictionary": shown,
        "info": next((e.info for e in history if shown and e.info.number == shown.version), None),
        "is_current": shown is not None and shown.version == numbers[0],
        "rows": [Row.of(v) for v in variables],
        "form": form,
        "filtered": any(filters.get(k) for k in ("q", "domain", "sensitivity")),
        "history": history,
        "formats": FORMATS,
        "may_change": services.may_change(principal),
        "import_form": import_form,
        "refusal": refusal,
        "problems": problems if problems is not None else (refusal.details if refusal else []),
    }
    status = refusal.status if refusal else (422 if problems else 200)
    return render(request, "catalog/dictionary.html", context, status=status)


@requires(action=Action.READ, resource="data dictionary")
@require_GET
def version_page(request: HttpRequest, number: int) -> HttpResponse:
    principal = _principal(request)
    info = services.version_info(number, principal)
    numbers = [v.number for v in services.versions(principal)]
    raw_against = request.GET.get("against", "")
    against = int(raw_against) if raw_against.isdigit() else number - 1
    if against not in numbers and raw_against:
        raise NotFound(f"The data dictionary has no version {raw_against}.")
    changes = services.diff(against, number, principal=principal) if against in numbers else None
    context = {
        "info": info,
        "changes": changes,
        "against": against if changes else None,
        "numbers": numbers,
        "formats": FORMATS,
        "is_current": number == numbers[0],
    }
    return render(request, "catalog/version.html", context)


@requires(action=Action.READ, resource="data dictionary")
@require_GET
def download(request: HttpRequest, number: int, fmt: str) -> HttpResponse:
    data = services.export_dictionary(number, fmt, principal=_principal(request))
    chosen = Format.of(fmt)
    response = HttpResponse(data, content_type=chosen.media_type)
    name = f"data-dictionary-v{number}.{chosen.value}"
    response["Content-Disposition"] = content_disposition_header(True, name) or ""
    return response


@requires(action=Action.WRITE, resource="data dictionary")
@csrf_exempt  # the CSRF check reads the body, which must first get the memory-only handler
@require_POST
def import_file(request: HttpRequest) -> HttpResponseBase:
    hold_in_memory(request, UPLOAD_LIMIT, TOO_LARGE)
    return _import(request)


@csrf_protect
def _import(request: HttpRequest) -> HttpResponseBase:
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, form, problems=problems_of(form))
    upload = form.cleaned_data["file"]
    try:
        created = services.import_dictionary(
            _principal(request),
            upload.read(),
            format=form.format_of(),
            note=form.cleaned_data["note"],
        )
    except (Invalid, Conflict) as exc:
        return _page(request, form, refusal=exc)
    messages.success(
        request,
        f"Stored version {created.number} of the data dictionary ({created.variables} variables) "
        "and published it in logs/data-dictionary/.",
    )
    for warning in created.warnings:
        messages.warning(request, warning)
    return redirect(reverse("catalog:version", args=[created.number]))
