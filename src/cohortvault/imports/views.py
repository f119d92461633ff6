"""The import pages: the list (the data manager's queue first), one import's quality-control
report with its downloads and missingness picture, and the data manager's decision forms.

Each view parses its input, calls ``imports.services`` (which checks the policy and audits),
and renders the result.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from cohortvault import quality
from cohortvault.access.policy import Action, Principal
from cohortvault.access.requirements import requires
from cohortvault.errors import Conflict, Invalid
from cohortvault.imports import services

TABS = {
    "pending": "Awaiting a decision",
    "accepted": "Accepted",
    "rejected": "Rejected",
    "withdrawn": "Withdrawn",
    "all": "All",
}


def _principal(request: HttpRequest) -> Principal:
    return request.principal  # type: ignore[attr-defined,no-any-return]


@requires(action=Action.READ, resource="site import area")
@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    tab = request.GET.get("state", "pending")
    if tab not in TABS:
        tab = "pending"
    found = services.list_imports(_principal(request), state=None if tab == "all" else tab)
    context = {"imports": found, "tab": tab, "tabs": TABS}
    return render(request, "imports/list.html", context)


@requires(action=Action.READ, resource="site import area")
@require_GET
def import_page(request: HttpRequest, import_id: int) -> HttpResponse:
    principal = _principal(request)
    info = services.get(principal, import_id)
    report = services.report(principal, import_id)
    context = {
        "info": info,
        "report": report,
        "may_decide": info.state == "checked" and services.may_decide(principal, info),
        "with_categories": [c for c in report.columns if c.categories] if report else [],
    }
    return render(request, "imports/import.html", context)


def _report_of(request: HttpRequest, import_id: int) -> quality.Report:
    report = services.report(_principal(request), import_id)
    if report is None:
        raise Conflict(f"Import {import_id} has not been checked yet; try again in a moment.")
    return report


@requires(action=Action.READ, resource="site import area")
@require_GET
def report_download(request: HttpRequest, import_id: int, fmt: str) -> HttpResponse:
    report = _report_of(request, import_id)
    if fmt == "csv":
        response = HttpResponse(report.to_csv(), content_type="text/csv; charset=utf-8")
    elif fmt == "json":
        response = HttpResponse(report.to_json(), content_type="application/json")
    else:
        raise Invalid("A report downloads as json or csv.")
    name = f"import-{import_id}-report.{fmt}"
    response["Content-Disposition"] = content_disposition_header(True, name) or ""
    return response


@requires(action=Action.READ, resource="site import area")
@require_GET
def missingness(request: HttpRequest, import_id: int) -> HttpResponse:
    report = _report_of(request, import_id)
    svg = quality.missingness_svg(report.missingness)
    return HttpResponse(svg, content_type="image/svg+xml")


@requires(action=Action.APPROVE, resource="site import area")
@require_POST
def decide(request: HttpRequest, import_id: int, decision: str) -> HttpResponseBase:
    principal = _principal(request)
    reason = request.POST.get("reason", "")
    try:
        if decision == "accept":
            info = services.accept(principal, import_id, reason=reason)
            messages.success(
                request, f"Accepted: version {info.dataset_version} of {info.site}/{info.study}."
            )
        else:
            services.reject(principal, import_id, reason=reason)
            messages.success(request, f"Rejected import {import_id}; the uploader is told why.")
    except (Invalid, Conflict) as exc:
        messages.error(request, exc.message)
    return redirect(reverse("imports:import", args=[import_id]))
