"""The correction pages: corrections with the deliveries they reached and their cell-level
change logs, the data manager's correction forms (posted from a ticket's page), re-delivery,
consent withdrawals, and the public error log.

Each view parses its input, calls ``corrections.services`` (which checks the policy and
audits), and renders the result.
"""

from __future__ import annotations

import csv
import io

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from cohortvault.access.policy import Action, Area, Facility, Principal, decide
from cohortvault.access.requirements import requires
from cohortvault.corrections import services
from cohortvault.corrections.services import CellEdit, CorrectionInfo
from cohortvault.corrections.services.errorlog import FOLDER, PUBLISHED
from cohortvault.errors import Conflict, Invalid
from cohortvault.files.forms import hold_in_memory
from cohortvault.projects import services as projects

SHOWN_CHANGES = 500
#: The most a corrected file sent through the page may hold (held in memory); larger ones go
#: through the API or the command line, which stream.
FILE_LIMIT = 32 * 1024 * 1024
EDIT_HEADER = ["subject_id", "timepoint", "variable", "value"]
FORMATS = {"csv": "CSV", "json": "JSON", "md": "Markdown"}


def _principal(request: HttpRequest) -> Principal:
    return request.principal  # type: ignore[attr-defined,no-any-return]


def _error_text(exc: Invalid | Conflict) -> str:
    return exc.message + "".join(f" · {d}" for d in exc.details)


def _may_redeliver(principal: Principal) -> bool:
    """Whether to show the "Re-deliver" buttons; the service decides again."""
    return decide(principal, Action.WRITE, Facility.EXTRACTION).allowed


# --- corrections -------------------------------------------------------------------------------


@requires(action=Action.READ, resource="site data area")
@require_GET
def correction_list(request: HttpRequest) -> HttpResponse:
    site = request.GET.get("site", "")
    found = services.corrections(_principal(request), site=site or None)
    context = {"corrections": found, "site": site, "sites": projects.choices().sites}
    return render(request, "corrections/list.html", context)


@requires(action=Action.READ, resource="site data area")
@require_GET
def correction_page(request: HttpRequest, number: int) -> HttpResponse:
    principal = _principal(request)
    info = services.correction(principal, number)
    context = {"info": info, "may_redeliver": _may_redeliver(principal)}
    return render(request, "corrections/correction.html", context)


@requires(action=Action.READ, resource="site data area")
@require_GET
def change_log(request: HttpRequest, number: int) -> HttpResponse:
    found = services.change_log(_principal(request), number)
    if request.GET.get("format") == "csv":
        response = HttpResponse(found.to_csv(), content_type="text/csv; charset=utf-8")
        name = f"correction-{number}-changes.csv"
        response["Content-Disposition"] = content_disposition_header(True, name) or ""
        return response
    context = {
        "number": number,
        "diff": found,
        "shown": found.to_dict(limit=SHOWN_CHANGES),
        "limit": SHOWN_CHANGES,
    }
    return render(request, "corrections/changes.html", context)


@requires(action=Action.WRITE, resource="extraction")
@require_GET
def pending(request: HttpRequest) -> HttpResponse:
    found = services.pending_redeliveries(_principal(request))
    return render(request, "corrections/pending.html", {"corrections": found})


@requires(action=Action.WRITE, resource="extraction")
@require_POST
def redeliver(request: HttpRequest, number: int) -> HttpResponseBase:
    project = request.POST.get("project", "").strip() or None
    try:
        made = services.redeliver(_principal(request), number, project=project)
    except (Invalid, Conflict) as exc:
        messages.error(request, _error_text(exc))
    else:
        if made:
            done = ", ".join(f"{d.project} {d.label}" for d in made)
            messages.success(request, f"Re-delivered: {done}.")
        else:
            messages.info(request, "No project is waiting for this correction.")
    return redirect(reverse("corrections:correction", args=[number]))


# --- correcting a ticket's data (the forms on the ticket's page) -------------------------------


def _edits(text: str) -> list[CellEdit]:
    """One cell edit per line, ``subject_id,timepoint,variable,value`` (CSV: quote a value
    holding a comma; an empty value makes the cell missing)."""
    edits, problems = [], []
    reader = csv.reader(io.StringIO(text))
    for fields in reader:
        cleaned = [f.strip() for f in fields]
        if not any(cleaned) or [f.lower() for f in cleaned] == EDIT_HEADER:
            continue
        if len(cleaned) != len(EDIT_HEADER):
            problems.append(
                f"line {reader.line_num}: {len(cleaned)} field(s); give "
                "subject_id,timepoint,variable,value"
            )
            continue
        subject_id, timepoint, variable, value = cleaned
        edits.append(CellEdit(subject_id, timepoint, variable, value or None))
    if problems:
        raise Invalid("Some lines are not cell edits; nothing was changed.", details=problems)
    return edits


def _corrected(request: HttpRequest, made: CorrectionInfo) -> HttpResponseBase:
    text = (
        f"Correction {made.id}: {made.cells} value(s) of {', '.join(made.variables) or '—'} "
        f"corrected in {made.site}/{made.study} version {made.new_version}; "
        f"ticket {made.ticket} is resolved."
    )
    if made.pending_projects:
        text += f" Waiting for a corrected delivery: {', '.join(made.pending_projects)}."
    messages.success(request, text)
    return redirect(reverse("corrections:correction", args=[made.id]))


def _refused(
    request: HttpRequest, number: int, exc: Invalid | Conflict, *, edits: str = ""
) -> HttpResponse:
    """The correction forms again, with why nothing was changed."""
    context = {
        "number": number,
        "refusal": exc,
        "edits": edits,
        "reason": request.POST.get("reason", ""),
    }
    return render(request, "corrections/refused.html", context, status=exc.status)


@requires(action=Action.WRITE, resource="site data area")
@require_POST
def correct_cells(request: HttpRequest, number: int) -> HttpResponseBase:
    text = request.POST.get("edits", "")
    try:
        made = services.correct_cells(
            _principal(request),
            number,
            edits=_edits(text),
            reason=request.POST.get("reason", ""),
        )
    except (Invalid, Conflict) as exc:
        return _refused(request, number, exc, edits=text)
    return _corrected(request, made)


@requires(action=Action.WRITE, resource="site data area")
@csrf_exempt  # the CSRF check reads the body, which must first get the memory-only handler
@require_POST
def correct_with_file(request: HttpRequest, number: int) -> HttpResponseBase:
    hold_in_memory(
        request,
        FILE_LIMIT,
        f"A corrected file sent from this page may be at most {FILE_LIMIT // 2**20} MiB; "
        "send larger ones through the API or `cohortvault corrections correct-file`.",
    )
    return _correct_with_file(request, number)


@csrf_protect
def _correct_with_file(request: HttpRequest, number: int) -> HttpResponseBase:
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise Invalid("Choose the corrected file.")
        made = services.correct_with_file(
            _principal(request),
            number,
            filename=upload.name or "correction.csv",
            source=upload,
            size=upload.size,
            reason=request.POST.get("reason", ""),
        )
    except (Invalid, Conflict) as exc:
        return _refused(request, number, exc)
    return _corrected(request, made)


# --- consent withdrawals -----------------------------------------------------------------------


@requires(action=Action.WRITE, resource="site data area")
@require_GET
def withdrawal_list(request: HttpRequest) -> HttpResponse:
    principal = _principal(request)
    found = services.withdrawals(principal)
    # whether to offer the form, and for which sites; the service decides again
    writable = [
        s
        for s in projects.choices().sites
        if decide(principal, Action.WRITE, Area.site_data(s.code)).allowed
    ]
    context = {"withdrawals": found, "sites": writable}
    return render(request, "corrections/withdrawals.html", context)


@requires(action=Action.WRITE, resource="site data area")
@require_POST
def withdraw(request: HttpRequest) -> HttpResponseBase:
    try:
        made = services.withdraw_consent(
            _principal(request),
            site=request.POST.get("site", ""),
            subject_id=request.POST.get("subject_id", ""),
            reason=request.POST.get("reason", ""),
        )
    except (Invalid, Conflict) as exc:
        messages.error(request, _error_text(exc))
        return redirect(reverse("corrections:withdrawals"))
    messages.success(
        request,
        f"Recorded withdrawal {made.id} at {made.site}: {len(made.corrections)} dataset(s) "
        "have a new version without the participant.",
    )
    return redirect(reverse("corrections:withdrawal", args=[made.id]))


@requires(action=Action.WRITE, resource="site data area")
@require_GET
def withdrawal_page(request: HttpRequest, number: int) -> HttpResponse:
    info = services.withdrawal(_principal(request), number)
    return render(request, "corrections/withdrawal.html", {"info": info})


# --- the public error log ----------------------------------------------------------------------


@requires(action=Action.READ, resource="logs area")
@require_GET
def error_log(request: HttpRequest) -> HttpResponse:
    found = services.error_log(_principal(request))
    downloads = [(FORMATS[path.rsplit(".", 1)[-1]], path) for path in PUBLISHED]
    context = {"rows": found, "downloads": downloads, "folder": FOLDER}
    return render(request, "corrections/error_log.html", context)
