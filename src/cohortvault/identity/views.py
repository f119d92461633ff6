"""Sign-in pages: password, second factor, enrolment, security settings, sign-out."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import login as django_login
from django.contrib.auth import logout as django_logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from cohortvault.access.policy import Action
from cohortvault.access.requirements import Stage, requires
from cohortvault.errors import Invalid as InvalidInput
from cohortvault.errors import NotAuthenticated, NotFound, Throttled
from cohortvault.identity import services
from cohortvault.identity.qr import qr_data_uri
from cohortvault.web.freshness import mark_verified
from cohortvault.web.middleware import is_verified


class LoginForm(forms.Form):
    username = forms.CharField(
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        max_length=32,
        label="One-time code",
        widget=forms.TextInput(
            attrs={"autofocus": True, "autocomplete": "one-time-code", "inputmode": "numeric"}
        ),
    )


class EnrolForm(CodeForm):
    device_id = forms.IntegerField(widget=forms.HiddenInput)
    name = forms.CharField(
        max_length=64, required=False, label="Name this authenticator", initial="Authenticator app"
    )


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("consortium:dashboard")


@requires(Stage.PUBLIC)
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            user = services.check_password_login(
                form.cleaned_data["username"], form.cleaned_data["password"]
            )
        except (NotAuthenticated, Throttled) as exc:
            error = exc.message
        else:
            django_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            request.session["cohortvault_next"] = _safe_next(request)
            if services.has_second_factor(user):
                return redirect("identity:verify")
            return redirect("identity:enrol")
    return render(
        request,
        "identity/login.html",
        {"form": form, "error": error, "next": request.GET.get("next", "")},
    )


@requires(Stage.PASSWORD)
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    if is_verified(request.user):
        return redirect("consortium:dashboard")
    form = CodeForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            device = services.verify_second_factor(request.user, form.cleaned_data["code"])
        except (NotAuthenticated, Throttled) as exc:
            error = exc.message
        else:
            target = request.session.get("cohortvault_next") or reverse("consortium:dashboard")
            request.session.cycle_key()
            otp_login(request, device)
            mark_verified(request)
            return HttpResponseRedirect(target)
    return render(request, "identity/verify.html", {"form": form, "error": error})


@requires(Stage.ENROLMENT)
@require_http_methods(["GET", "POST"])
def enrol(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: the first one right after the password, more later."""
    user = request.user
    device = services.begin_totp_enrolment(user)
    form = EnrolForm(request.POST or None, initial={"device_id": device.pk})
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            codes = services.confirm_totp_enrolment(
                user,
                form.cleaned_data["device_id"],
                form.cleaned_data["code"],
                name=form.cleaned_data["name"],
            )
        except (InvalidInput, NotFound) as exc:
            error = exc.message
        else:
            if not is_verified(user):
                request.session.cycle_key()
                otp_login(request, device)
            mark_verified(request)
            if codes:
                return render(
                    request, "identity/recovery_codes.html", {"codes": codes, "first": True}
                )
            messages.success(request, "Authenticator added.")
            return redirect("identity:security")
    return render(
        request,
        "identity/enrol.html",
        {
            "form": form,
            "error": error,
            "qr": qr_data_uri(device.config_url),
            "secret": services.base32_secret(device),
            "first": not services.has_second_factor(user),
        },
    )


@requires(Stage.VERIFIED, Action.READ, "own account")
@require_http_methods(["GET"])
def security(request: HttpRequest) -> HttpResponse:
    return render(request, "identity/security.html", services.security_overview(request.user))


@requires(Stage.VERIFIED, Action.WRITE, "own account")
@require_POST
def recovery_codes(request: HttpRequest) -> HttpResponse:
    codes = services.regenerate_recovery_codes(request.user)
    return render(request, "identity/recovery_codes.html", {"codes": codes, "first": False})


@requires(Stage.PUBLIC)
@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        services.sign_out(request.user)
    django_logout(request)
    messages.info(request, "You are signed out.")
    return redirect("identity:login")
