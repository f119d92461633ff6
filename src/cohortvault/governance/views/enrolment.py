"""The public enrolment page a new user reaches from their letter: set a password, set up an
authenticator, keep the recovery codes; then they are signed in.

The code in the address is the only credential here. Every invalid, expired or used code gets
the same answer, and every refusal is recorded by the service.
"""

from __future__ import annotations

from django.contrib.auth import login as django_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from cohortvault.access.requirements import Stage, requires
from cohortvault.errors import Invalid, NotFound
from cohortvault.governance import enrolment
from cohortvault.governance.forms import EnrolmentCodeForm, EnrolmentPasswordForm, problems
from cohortvault.identity.models import User
from cohortvault.identity.qr import qr_data_uri
from cohortvault.identity.services import base32_secret
from cohortvault.web.freshness import mark_verified

PASSWORD_STEP, AUTHENTICATOR_STEP = "password", "authenticator"


@requires(Stage.PUBLIC)
@require_http_methods(["GET", "POST"])
def enrol(request: HttpRequest, code: str) -> HttpResponseBase:
    try:
        live = enrolment.enrolment_for(code)
    except NotFound as exc:
        return render(
            request, "governance/enrol_invalid.html", {"message": exc.message}, status=404
        )
    step = AUTHENTICATOR_STEP if live.user.has_usable_password() else PASSWORD_STEP
    posted = request.POST if request.POST.get("step") == step else None
    if step == PASSWORD_STEP:
        return _password_step(request, code, live.user, posted)
    return _authenticator_step(request, code, live.user, posted)


def _password_step(
    request: HttpRequest, code: str, user: User, posted: QueryDict | None
) -> HttpResponse:
    form = EnrolmentPasswordForm(posted)
    errors: list[str] = []
    if posted is not None:
        if form.is_valid():
            try:
                enrolment.set_enrolment_password(code, form.cleaned_data["password1"])
            except (Invalid, NotFound) as exc:
                errors = [exc.message, *map(str, exc.details)]
            else:
                return redirect("enrolment:enrol", code)
        else:
            errors = problems(form)
    return render(
        request,
        "governance/enrol.html",
        {"step": PASSWORD_STEP, "form": form, "errors": errors, "account": user, "code": code},
        status=422 if errors else 200,
    )


def _authenticator_step(
    request: HttpRequest, code: str, user: User, posted: QueryDict | None
) -> HttpResponse:
    device = enrolment.authenticator_for(code)
    form = EnrolmentCodeForm(posted, initial={"device_id": device.pk})
    errors: list[str] = []
    if posted is not None:
        if form.is_valid():
            try:
                account, confirmed, recovery_codes = enrolment.complete_enrolment(
                    code, form.cleaned_data["device_id"], form.cleaned_data["code"]
                )
            except (Invalid, NotFound) as exc:
                errors = [exc.message]
            else:
                django_login(request, account, backend="django.contrib.auth.backends.ModelBackend")
                otp_login(request, confirmed)
                mark_verified(request)
                return render(
                    request,
                    "governance/enrol.html",
                    {"step": "done", "codes": recovery_codes, "account": account},
                )
        else:
            errors = problems(form)
    return render(
        request,
        "governance/enrol.html",
        {
            "step": AUTHENTICATOR_STEP,
            "form": form,
            "errors": errors,
            "account": user,
            "code": code,
            "qr": qr_data_uri(device.config_url),
            "secret": base32_secret(device),
        },
        status=422 if errors else 200,
    )
