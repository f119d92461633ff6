"""WebAuthn ceremonies for security keys, on top of django-otp-webauthn's views.

The package's views and JavaScript (``static/django_otp_webauthn/``) speak the protocol; the
subclasses here fit them into cohortvault:

- every view declares its stage for the web gate (registration: enrolment or verified; use: the
  password stage, i.e. the second step of signing in, or a verified session re-authenticating);
- the relying party is the host the request came to, which ``ALLOWED_HOSTS`` vouches for, and
  the only origin accepted is that host's; WebAuthn refuses IP addresses, so keys need the site
  opened by a host name (``http://localhost:8000``, not ``http://127.0.0.1:8000``);
- adding a key to a verified session needs a fresh second factor;
- every outcome goes through ``identity.security_keys`` (checks and audit) and then the
  session (key cycled, device recorded, ``mark_verified``).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.http.request import split_domain_port
from django.middleware import csrf
from django.urls import reverse
from django.views.i18n import JavaScriptCatalog
from django_otp import login as otp_login
from django_otp_webauthn import exceptions
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.views import (
    BeginCredentialAuthenticationView,
    BeginCredentialRegistrationView,
    CompleteCredentialAuthenticationView,
    CompleteCredentialRegistrationView,
)

from cohortvault.access.requirements import Stage, requires
from cohortvault.errors import CohortvaultError
from cohortvault.identity import security_keys
from cohortvault.identity.security_keys import Purpose
from cohortvault.web.freshness import is_fresh, mark_verified
from cohortvault.web.middleware import is_verified, open_without_security_key

#: Where the sign-in continues after the second factor (set by the login view).
SIGN_IN_TARGET = "cohortvault_next"
#: The key this session just registered, which it may name (and get recovery codes for).
NEW_KEY = "cohortvault_new_security_key"


class HostNameRequired(exceptions.OTPWebAuthnApiError):  # type: ignore[misc]
    status_code = 400
    default_code = "host_name_required"
    default_detail = (
        "Security keys work only when cohortvault is opened by its host name (such as "
        "localhost), not by an IP address."
    )


class ReauthenticationRequired(exceptions.OTPWebAuthnApiError):  # type: ignore[misc]
    status_code = 403
    default_code = "reauthentication_required"
    default_detail = "Confirm it is you again before adding a security key: reload the page."


class NoSecurityKey(exceptions.OTPWebAuthnApiError):  # type: ignore[misc]
    status_code = 404
    default_code = "no_security_key"
    default_detail = "This account has no security key."


def relying_party_id(request: HttpRequest) -> str:
    """The WebAuthn relying party ID: the request's host name (``OTP_WEBAUTHN_RP_ID_CALLABLE``)."""
    problem = host_name_problem(request)
    if problem:
        raise HostNameRequired(detail=problem)
    domain, _port = split_domain_port(request.get_host())
    return domain


def host_name_problem(request: HttpRequest) -> str:
    """Why security keys cannot work at the address this page was opened at ("" if they can)."""
    domain, _port = split_domain_port(request.get_host())
    try:
        ipaddress.ip_address(domain.strip("[]"))
    except ValueError:
        return "" if domain else HostNameRequired.default_detail
    return (
        f"Security keys work only when cohortvault is opened by its host name, not by an IP "
        f"address such as {domain}. Open it at its name (for a local instance, "
        f"http://localhost instead of http://127.0.0.1) and try again."
    )


class SecurityKeyHelper(WebAuthnHelper):  # type: ignore[misc]
    """The package's helper with the origin taken from the request (``OTP_WEBAUTHN_HELPER_CLASS``)
    and new keys numbered until their owner names them."""

    def get_allowed_origins(self) -> list[str]:
        return [f"{self.request.scheme}://{self.request.get_host()}"]

    def create_credential(self, user: Any, *args: Any, **kwargs: Any) -> Any:
        key = super().create_credential(user, *args, **kwargs)
        key.name = f"Security key {len(security_keys.security_keys(user)) + 1}"
        return key


def client_config(request: HttpRequest) -> dict[str, Any]:
    """The configuration the package's JavaScript reads from ``#otp_webauthn_config``."""
    return {
        "autocompleteLoginFieldSelector": None,
        "nextFieldSelector": "input[name='next']",
        "csrfToken": csrf.get_token(request),
        "beginAuthenticationUrl": reverse("otp_webauthn:credential-authentication-begin"),
        "completeAuthenticationUrl": reverse("otp_webauthn:credential-authentication-complete"),
        "beginRegistrationUrl": reverse("otp_webauthn:credential-registration-begin"),
        "completeRegistrationUrl": reverse("otp_webauthn:credential-registration-complete"),
    }


class _ServiceErrors:
    """Service errors answered in the package's JSON error shape, which its JavaScript shows."""

    def handle_exception(self, exc: Exception) -> Any:
        if isinstance(exc, CohortvaultError):
            return JsonResponse({"detail": exc.message, "code": exc.code}, status=exc.status)
        return super().handle_exception(exc)  # type: ignore[misc]


def _check_fresh(request: HttpRequest) -> None:
    if is_verified(request.user) and not is_fresh(request):
        raise ReauthenticationRequired()


def _purpose(request: HttpRequest) -> Purpose:
    return Purpose.REAUTHENTICATION if is_verified(request.user) else Purpose.LOGIN


class BeginRegistration(_ServiceErrors, BeginCredentialRegistrationView):  # type: ignore[misc]
    def check_can_register(self) -> None:
        _check_fresh(self.request)


class CompleteRegistration(_ServiceErrors, CompleteCredentialRegistrationView):  # type: ignore[misc]
    def check_can_register(self) -> None:
        _check_fresh(self.request)

    def post(self, *args: Any, **kwargs: Any) -> JsonResponse:
        request = self.request
        user = self.get_user()
        state = self.get_state()
        key = security_keys.enrol_security_key(
            user, ceremony=self.get_helper(), state=state, data=request.data
        )
        if not is_verified(request.user):  # a first factor: this session is now verified
            request.session.cycle_key()
            otp_login(request, key)
        mark_verified(request)
        request.session[NEW_KEY] = key.pk
        return JsonResponse({"id": key.pk})


class BeginAuthentication(_ServiceErrors, BeginCredentialAuthenticationView):  # type: ignore[misc]
    def post(self, *args: Any, **kwargs: Any) -> JsonResponse:
        request = self.request
        user = self.get_user()
        if not security_keys.has_security_key(user):
            raise NoSecurityKey()
        try:
            options, state = self.get_helper().authenticate_begin(
                user=user, require_user_verification=False
            )
        except HostNameRequired as exc:
            security_keys.record_security_key_failure(
                user,
                action=str(_purpose(request)),
                reason=f"{exc.code}: the page was opened at {request.get_host()}",
            )
            raise
        request.session["otp_webauthn_authentication_state"] = state
        return JsonResponse(options)


class CompleteAuthentication(_ServiceErrors, CompleteCredentialAuthenticationView):  # type: ignore[misc]
    def post(self, *args: Any, **kwargs: Any) -> JsonResponse:
        request = self.request
        user = self.get_user()
        purpose = _purpose(request)
        try:
            state = self.get_state()
        except exceptions.InvalidState as exc:
            security_keys.record_security_key_failure(
                user, action=str(purpose), reason=f"{exc.code}: no challenge was pending"
            )
            raise
        key = security_keys.verify_security_key(
            user, ceremony=self.get_helper(), state=state, data=request.data, purpose=purpose
        )
        if purpose is Purpose.LOGIN:
            target = request.session.get(SIGN_IN_TARGET)
        else:
            target = self.get_redirect_url()
        request.session.cycle_key()
        otp_login(request, key)
        mark_verified(request)
        return JsonResponse(
            {"id": key.pk, "redirect_url": target or reverse("consortium:dashboard")}
        )


def _declared(view: Any, stage: Stage) -> Any:
    return requires(stage)(open_without_security_key(view))


begin_registration = _declared(BeginRegistration.as_view(), Stage.ENROLMENT)
complete_registration = _declared(CompleteRegistration.as_view(), Stage.ENROLMENT)
begin_authentication = _declared(BeginAuthentication.as_view(), Stage.PASSWORD)
complete_authentication = _declared(CompleteAuthentication.as_view(), Stage.PASSWORD)
javascript_catalog = requires(Stage.PUBLIC)(
    JavaScriptCatalog.as_view(packages=["django_otp_webauthn"])
)
