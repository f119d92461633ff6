"""Sign-in pages: password, second factor, enrolment, security settings, security keys,
re-authentication, sign-out.

``fresh_required`` and ``reauthentication_url`` (from ``identity.reauthentication``) are the
way other views ask for a fresh second factor before a sensitive action.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import login as django_login
from django.contrib.auth import logout as django_logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login

from cohortvault.access.policy import Action
from cohortvault.access.requirements import Stage, requires
from cohortvault.errors import Conflict, NotAuthenticated, NotFound, Throttled
from cohortvault.errors import Invalid as InvalidInput
from cohortvault.identity import security_keys, services, tokens, webauthn
from cohortvault.identity.qr import qr_data_uri
from cohortvault.identity.reauthentication import fresh_required, reauthentication_url
from cohortvault.web.freshness import mark_verified
from cohortvault.web.middleware import (
    is_verified,
    lacks_required_security_key,
    must_use_security_key,
    open_without_security_key,
)

__all__ = ["fresh_required", "reauthentication_url"]


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


class KeyNameForm(forms.Form):
    name = forms.CharField(max_length=security_keys.NAME_MAX_LENGTH, label="Name")


class NewKeyForm(KeyNameForm):
    credential = forms.IntegerField(widget=forms.HiddenInput)


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
            request.session[webauthn.SIGN_IN_TARGET] = _safe_next(request)
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
            target = request.session.get(webauthn.SIGN_IN_TARGET)
            request.session.cycle_key()
            otp_login(request, device)
            mark_verified(request)
            return HttpResponseRedirect(target or reverse("consortium:dashboard"))
    return render(
        request,
        "identity/verify.html",
        {"form": form, "error": error, **_key_context(request)},
    )


@requires(Stage.ENROLMENT)
@fresh_required
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
    user = request.user
    context = services.security_overview(user)
    context["tokens"] = tokens.security_overview(user)
    context["needs_key"] = must_use_security_key(request.principal)  # type: ignore[attr-defined]
    return render(request, "identity/security.html", context)


@requires(Stage.VERIFIED, Action.WRITE, "own account")
@fresh_required
@require_POST
def remove_authenticator(request: HttpRequest, device_id: int) -> HttpResponse:
    try:
        services.remove_authenticator(request.user, device_id)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Authenticator removed.")
    return redirect("identity:security")


@requires(Stage.ENROLMENT)
@open_without_security_key
@fresh_required
@require_GET
def add_security_key(request: HttpRequest) -> HttpResponse:
    """Register a security key: as the first second factor, or beside the others."""
    user = request.user
    keys = security_keys.security_keys(user)
    return render(
        request,
        "identity/security_key_add.html",
        {
            **_key_context(request),
            "form": NewKeyForm(initial={"name": f"Security key {len(keys) + 1}"}),
            "first": not services.has_second_factor(user),
            "needs_key": lacks_required_security_key(request),
            "has_keys": bool(keys),
        },
    )


@requires(Stage.ENROLMENT)
@open_without_security_key
@require_POST
def security_key_added(request: HttpRequest) -> HttpResponse:
    """Name the key this session just registered (the page's script sends it here)."""
    new_key = request.session.get(webauthn.NEW_KEY)
    if new_key is None or request.POST.get("credential") != str(new_key):
        messages.error(request, "Register the security key first.")
        return redirect("identity:security-key-add")
    form = KeyNameForm(request.POST)
    name = form.cleaned_data["name"] if form.is_valid() else ""
    key, codes = security_keys.name_new_security_key(request.user, new_key, name)
    del request.session[webauthn.NEW_KEY]
    if codes:
        return render(
            request,
            "identity/recovery_codes.html",
            {"codes": codes, "first": True, "factor": "security key"},
        )
    messages.success(request, f"Security key “{key.name}” added.")
    if lacks_required_security_key(request):
        messages.info(request, "Now confirm with the new key to continue.")
        return redirect(reauthentication_url(request, reverse("consortium:dashboard")))
    return redirect("identity:security")


@requires(Stage.VERIFIED, Action.WRITE, "own account")
@require_POST
def rename_security_key(request: HttpRequest, key_id: int) -> HttpResponse:
    form = KeyNameForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the key a name of at most 64 characters.")
        return redirect("identity:security")
    try:
        key = security_keys.rename_security_key(request.user, key_id, form.cleaned_data["name"])
    except InvalidInput as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Security key renamed to “{key.name}”.")
    return redirect("identity:security")


@requires(Stage.VERIFIED, Action.WRITE, "own account")
@fresh_required
@require_POST
def revoke_security_key(request: HttpRequest, key_id: int) -> HttpResponse:
    try:
        key = security_keys.revoke_security_key(request.user, key_id)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Security key “{key.name}” removed; it no longer works here.")
    return redirect("identity:security")


@requires(Stage.VERIFIED, Action.READ, "own account")
@open_without_security_key
@require_http_methods(["GET", "POST"])
def reauthenticate(request: HttpRequest) -> HttpResponse:
    """Give a second factor again (code, recovery code or key) before a sensitive action."""
    target = _safe_next(request)
    form = CodeForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            device = services.reauthenticate_with_code(request.user, form.cleaned_data["code"])
        except (NotAuthenticated, Throttled) as exc:
            error = exc.message
        else:
            request.session.cycle_key()
            otp_login(request, device)
            mark_verified(request)
            return HttpResponseRedirect(target)
    return render(
        request,
        "identity/reauthenticate.html",
        {"form": form, "error": error, "next": target, **_key_context(request)},
    )


def _key_context(request: HttpRequest) -> dict[str, object]:
    """What a page offering a security key needs: whether the user has one, why keys cannot
    work at this address (if they cannot), and the configuration for the package's script."""
    return {
        "has_keys": security_keys.has_security_key(request.user),
        "host_problem": webauthn.host_name_problem(request),
        "webauthn_config": webauthn.client_config(request),
    }


@requires(Stage.VERIFIED, Action.WRITE, "own account")
@fresh_required
@require_POST
def recovery_codes(request: HttpRequest) -> HttpResponse:
    codes = services.regenerate_recovery_codes(request.user)
    return render(request, "identity/recovery_codes.html", {"codes": codes, "first": False})


@requires(Stage.PUBLIC)
@open_without_security_key
@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        services.sign_out(request.user)
    django_logout(request)
    messages.info(request, "You are signed out.")
    return redirect("identity:login")
