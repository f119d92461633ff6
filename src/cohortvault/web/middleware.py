"""Middleware every web and API request passes through, in the order settings.MIDDLEWARE lists."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django_otp import user_has_device
from django_otp_webauthn.models import WebAuthnCredential

from cohortvault.access.policy import Action, Principal, Role
from cohortvault.access.principals import principal_for
from cohortvault.access.requirements import Requirement, Stage, requirement_of
from cohortvault.audit.trail import bind, record
from cohortvault.errors import CohortvaultError
from cohortvault.web.errors import render_error

logger = logging.getLogger(__name__)

GetResponse = Callable[[HttpRequest], HttpResponseBase]

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        "script-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

LOGIN_AT = "cohortvault_login_at"
LAST_SEEN = "cohortvault_last_seen"


def client_ip(request: HttpRequest) -> str:
    """The client's address; behind a trusted proxy, the last hop it added to X-Forwarded-For."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    if remote in settings.COHORTVAULT_TRUSTED_PROXIES:
        forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if forwarded and forwarded[-1]:
            return str(forwarded[-1][:64])
    return remote


class RequestIdMiddleware:
    """Give every request an id, shown on error pages and in the audit trail."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request_id = uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        channel = "api" if request.path.startswith("/api/") else "web"
        with bind(request_id=request_id, client_ip=client_ip(request), channel=channel):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class SecurityHeadersMiddleware:
    """Headers Django's SecurityMiddleware does not set: CSP and a permissions policy."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if not request.path.startswith(settings.STATIC_URL):
            response.setdefault("Cache-Control", "no-store")
        return response


class SessionLifetimeMiddleware:
    """End web sessions that were idle too long or are older than the absolute lifetime.

    Django's own expiry is enforced by the cookie and the session store; this also checks the
    timestamps kept inside the session, so an old cookie replayed by hand cannot outlive them.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.user.is_authenticated:
            now = time.time()
            login_at = float(request.session.get(LOGIN_AT, 0))
            last_seen = float(request.session.get(LAST_SEEN, login_at))
            reason = ""
            if now - login_at > settings.SESSION_MAX_AGE:
                reason = "the session reached its maximum lifetime"
            elif now - last_seen > settings.SESSION_COOKIE_AGE:
                reason = "the session was idle too long"
            if reason:
                user = request.user
                record(
                    "session.expired",
                    actor=Principal(user_id=user.pk, username=user.get_username()),
                    reason=reason,
                )
                logout(request)
            else:
                request.session[LAST_SEEN] = now
        return self.get_response(request)


class AccessGateMiddleware:
    """Enforce the stage each view declares with ``@requires``; refuse views declaring nothing.

    Before a second factor is given, a signed-in user reaches only the pages declared for the
    password or enrolment stage. API routes authenticate themselves (bearer token or verified
    session) and are checked by the contract test instead.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request.principal = SimpleLazyObject(lambda: _verified_principal(request))  # type: ignore[attr-defined]
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: Any,
        view_kwargs: Any,
    ) -> HttpResponseBase | None:
        match = request.resolver_match
        if match is not None and "api" in match.namespaces:
            return _enforce_security_key_on_api(request)
        if match is not None and match.app_name == "admin":
            requirement: Requirement | None = Requirement(
                Stage.VERIFIED, Action.ADMINISTER, "consortium"
            )
        else:
            requirement = requirement_of(view_func)
        if requirement is None:
            logger.error("view %s declares no access requirement; refused", view_func)
            return render_error(request, status=403, message="This page is not available.")
        refusal = _enforce_stage(request, requirement.stage)
        if refusal is not None or requirement.stage is Stage.PUBLIC:
            return refusal
        return _enforce_security_key(request, view_func)

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponseBase | None:
        if isinstance(exception, CohortvaultError) and not request.path.startswith("/api/"):
            return render_error(request, status=exception.status, message=exception.message)
        return None


def is_verified(user: Any) -> bool:
    """Has this user given their second factor in this session (django-otp's verdict)?"""
    check = getattr(user, "is_verified", None)
    return bool(user.is_authenticated and check is not None and check())


def _verified_principal(request: HttpRequest) -> Principal:
    user = request.user
    if is_verified(user):
        return principal_for(user)
    return Principal.anonymous()


def _enforce_stage(request: HttpRequest, stage: Stage) -> HttpResponse | None:
    if stage is Stage.PUBLIC:
        return None
    user = request.user
    if not user.is_authenticated:
        query = urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(f"{reverse('identity:login')}?{query}")
    if is_verified(user):
        return None
    has_factor = user_has_device(user, confirmed=True)
    if stage is Stage.PASSWORD and has_factor:
        return None
    if stage is Stage.ENROLMENT and not has_factor:
        return None
    return HttpResponseRedirect(reverse("identity:verify" if has_factor else "identity:enrol"))


# Security keys required of some roles (the `require_security_key` setting). A session of such
# a user verified with anything but a key reaches only the views marked below: adding a key,
# re-authenticating (with a key, which lifts the restriction) and signing out.

ROLES_NEEDING_SECURITY_KEY = frozenset({Role.DATA_MANAGER, Role.EXPORTER})
OPEN_WITHOUT_SECURITY_KEY = "cohortvault_open_without_security_key"
SECURITY_KEY_NEEDED = (
    "Your role needs a security key as second factor. Add one, or confirm with the one you have."
)

V = TypeVar("V", bound=Callable[..., Any])


def open_without_security_key(view: V) -> V:
    """Mark a view that users still owing a security key may reach (to add or use one)."""
    setattr(view, OPEN_WITHOUT_SECURITY_KEY, True)
    return view


def must_use_security_key(principal: Principal) -> bool:
    """Does the `require_security_key` setting apply to this principal's roles?"""
    return bool(settings.COHORTVAULT_REQUIRE_SECURITY_KEY) and any(
        principal.has(role) for role in ROLES_NEEDING_SECURITY_KEY
    )


def verified_with_security_key(user: Any) -> bool:
    """Was this session's second factor a security key (a WebAuthn credential)?"""
    return isinstance(getattr(user, "otp_device", None), WebAuthnCredential)


def lacks_required_security_key(request: HttpRequest) -> bool:
    """A verified session whose user must use a security key, verified with something else."""
    user = request.user
    if not is_verified(user) or verified_with_security_key(user):
        return False
    return must_use_security_key(getattr(request, "principal", Principal.anonymous()))


def _is_open_without_security_key(view: Any) -> bool:
    candidates = (view, getattr(view, "view_class", None), getattr(view, "__wrapped__", None))
    return any(getattr(c, OPEN_WITHOUT_SECURITY_KEY, False) for c in candidates if c is not None)


def _enforce_security_key(request: HttpRequest, view: Any) -> HttpResponse | None:
    if _is_open_without_security_key(view) or not lacks_required_security_key(request):
        return None
    messages.warning(request, SECURITY_KEY_NEEDED)
    return HttpResponseRedirect(reverse("identity:security-key-add"))


def _enforce_security_key_on_api(request: HttpRequest) -> HttpResponse | None:
    """API calls carrying such a session are refused (whatever else they carry: the API would
    fall back on the session when a bearer token fails)."""
    if not lacks_required_security_key(request):
        return None
    return render_error(request, status=403, message=SECURITY_KEY_NEEDED)
