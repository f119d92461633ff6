"""Registration pages: the contact person's request, its decisions, and the enrolment letter
the administrator prints after approving it."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from cohortvault.access.policy import Action
from cohortvault.access.requirements import requires
from cohortvault.errors import NotAuthenticated
from cohortvault.governance import enrolment, services
from cohortvault.governance.forms import DecisionForm, RegistrationForm, problems
from cohortvault.governance.views.common import (
    INPUT_ERRORS,
    error_lines,
    principal_of,
    reauthenticate,
)
from cohortvault.identity.qr import qr_data_uri
from cohortvault.identity.reauthentication import reauthentication_url
from cohortvault.web.freshness import is_fresh


def _registration_form(request: HttpRequest) -> RegistrationForm:
    principal = principal_of(request)
    groups = services.group_choices()
    sites = [
        (ref.site, label.split(": ", 1)[-1])
        for ref, label in groups
        if ref.site and ref.site in principal.contact_sites
    ]
    return RegistrationForm(request.POST or None, sites=sites, groups=groups)


@requires(action=Action.WRITE, resource="registration request")
@require_http_methods(["GET", "POST"])
def registration_new(request: HttpRequest) -> HttpResponse:
    """A site's contact person asks for an account for a new researcher."""
    form = _registration_form(request)
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                registration = services.request_registration(
                    principal_of(request),
                    site=data["site"],
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    email=data["email"],
                    reason=data["reason"],
                    groups=form.group_refs(),
                )
            except INPUT_ERRORS as exc:
                errors, status = error_lines(exc), exc.status
            else:
                messages.success(
                    request, "Registration requested: the data protection officer confirms next."
                )
                return redirect("governance:registration", registration.pk)
        else:
            errors, status = problems(form), 422
    is_contact = bool(principal_of(request).contact_sites)
    return render(
        request,
        "governance/registration_form.html",
        {"form": form, "errors": errors, "is_contact": is_contact},
        status=status if is_contact else 403,
    )


def _detail_page(
    request: HttpRequest, pk: int, form: DecisionForm | None = None, status: int = 200
) -> HttpResponse:
    detail = services.registration_detail(principal_of(request), pk)
    return render(
        request,
        "governance/registration_detail.html",
        {
            "detail": detail,
            "registration": detail.registration,
            "form": form or DecisionForm(),
            "errors": problems(form) if form is not None else [],
            "fresh": is_fresh(request),
            "reauthenticate_url": reauthentication_url(request, request.path),
        },
        status=status,
    )


@requires(action=Action.READ, resource="registration")
@require_http_methods(["GET"])
def registration_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail_page(request, pk)


@requires(action=Action.APPROVE, resource="registration")
@require_http_methods(["GET", "POST"])
def registration_decide(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Confirm, approve or refuse; the administrator's approval shows the enrolment letter."""
    if request.method == "GET":  # e.g. back from re-authentication
        return redirect("governance:registration", pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, pk, form, status=422)
    try:
        outcome = services.decide_registration(
            principal_of(request),
            pk,
            approve=form.approve,
            reason=form.cleaned_data["reason"],
            fresh=is_fresh(request),
        )
    except NotAuthenticated:
        return reauthenticate(request)
    if outcome.enrolment_code:
        return _letter(request, outcome.enrolment_code)
    messages.success(request, f"Recorded: {outcome.registration.get_status_display()}.")
    return redirect("governance:registration", pk)


@requires(action=Action.ADMINISTER, resource="pending account")
@require_POST
def new_enrolment_code(request: HttpRequest, username: str) -> HttpResponseBase:
    """A new code and letter for a still-pending account; earlier codes stop working."""
    if not is_fresh(request):
        return reauthenticate(request)
    code = services.issue_enrolment_code(principal_of(request), username)
    return _letter(request, code)


def _letter(request: HttpRequest, code: str) -> HttpResponse:
    """The printable enrolment letter. The code exists in clear only in this response."""
    live = enrolment.enrolment_for(code)
    url = settings.COHORTVAULT_SITE_URL + reverse("enrolment:enrol", args=[code])
    return render(
        request,
        "governance/letter.html",
        {
            "account": live.user,
            "registration": getattr(live.user, "registration", None),
            "code": code,
            "expires_at": live.expires_at,
            "url": url,
            "qr": qr_data_uri(url),
        },
    )
