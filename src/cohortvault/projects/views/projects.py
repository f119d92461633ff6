"""Project pages: the project with its agreements table, the data manager's agreement form
(with the signed PDF, held in memory only), the document download and the administrator's
closing form."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from cohortvault.access.policy import Action
from cohortvault.access.requirements import requires
from cohortvault.files.forms import hold_in_memory
from cohortvault.projects import services
from cohortvault.projects.forms import (
    TOO_LARGE,
    UPLOAD_LIMIT,
    AgreementForm,
    CloseForm,
    problems,
)
from cohortvault.projects.views.proposals import INPUT_ERRORS, error_lines, principal_of


def _page(
    request: HttpRequest,
    code: str,
    *,
    errors: list[str] | None = None,
    failed_site: str = "",
    close_form: CloseForm | None = None,
) -> HttpResponse:
    detail = services.project_detail(principal_of(request), code)
    forms = {
        row.agreement.site.code: AgreementForm(
            initial={
                "status": row.agreement.status,
                "signed_on": row.agreement.signed_on,
                "expires_on": row.agreement.expires_on,
                "note": row.agreement.note,
            },
            prefix=row.agreement.site.code,
        )
        for row in detail.agreements
    }
    context = {
        "detail": detail,
        "proposal": detail.proposal,
        "project": detail.proposal.project,
        "rows": [(row, forms[row.agreement.site.code]) for row in detail.agreements],
        "errors": errors or [],
        "failed_site": failed_site,
        "close_form": close_form or CloseForm(),
    }
    return render(request, "projects/project.html", context, status=422 if errors else 200)


@requires(action=Action.READ, resource="project")
@require_GET
def project_page(request: HttpRequest, code: str) -> HttpResponse:
    return _page(request, code)


@requires(action=Action.WRITE, resource="agreements")
@csrf_exempt  # the CSRF check reads the body, which must first get the memory-only handler
@require_POST
def agreement_record(request: HttpRequest, code: str, site: str) -> HttpResponseBase:
    hold_in_memory(request, UPLOAD_LIMIT, TOO_LARGE)
    return _record(request, code, site)


@csrf_protect
def _record(request: HttpRequest, code: str, site: str) -> HttpResponseBase:
    form = AgreementForm(request.POST, request.FILES, prefix=site)
    if not form.is_valid():
        return _page(request, code, errors=problems(form), failed_site=site)
    principal = principal_of(request)
    try:
        services.record_agreement(principal, code, site, form.data_for_service())
        upload = form.cleaned_data["document"]
        if upload:
            services.store_document(
                principal, code, site, filename=upload.name or "", content=upload.read()
            )
    except INPUT_ERRORS as exc:
        return _page(request, code, errors=error_lines(exc), failed_site=site)
    messages.success(request, f"Recorded the agreement with site {site}.")
    return redirect("projects:project", code)


@requires(action=Action.READ, resource="agreements")
@require_GET
def agreement_document(
    request: HttpRequest, code: str, site: str, document: int
) -> HttpResponseBase:
    """A signed agreement (administrators and data managers only)."""
    found = services.read_document(principal_of(request), code, site, document)
    response = StreamingHttpResponse(found.chunks, content_type="application/pdf")
    response["Content-Length"] = str(found.size)
    response["Content-Disposition"] = content_disposition_header(True, found.filename) or ""
    return response


@requires(action=Action.ADMINISTER, resource="consortium")
@require_POST
def project_close(request: HttpRequest, code: str) -> HttpResponseBase:
    form = CloseForm(request.POST)
    if not form.is_valid():
        return _page(request, code, errors=problems(form), close_form=form)
    try:
        services.close_project(principal_of(request), code, reason=form.cleaned_data["reason"])
    except INPUT_ERRORS as exc:
        return _page(request, code, errors=error_lines(exc), close_form=form)
    messages.success(request, f"Project {code} is closed; its members no longer reach its area.")
    return redirect("projects:project", code)
