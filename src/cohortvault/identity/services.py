"""Sign-in, second factors and tokens: the only doors to identities.

Web views, API routes and commands call these; they check, change and audit. Managing the
session itself (Django's ``login``, django-otp's ``login``) stays in the web views, because only
they have one.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from cohortvault.access.guard import authorize
from cohortvault.access.policy import Action, Facility, Principal
from cohortvault.access.principals import principal_for
from cohortvault.audit.models import AuditEntry
from cohortvault.audit.trail import Outcome, current_context, record
from cohortvault.errors import Conflict, Invalid, NotAuthenticated, NotFound, Throttled
from cohortvault.identity.models import (
    ApiToken,
    RecoveryCode,
    RecoveryCodeDevice,
    User,
    digest,
    normalize_recovery_code,
)
from cohortvault.web.middleware import must_use_security_key

__all__ = [
    "INVALID_LOGIN",
    "IssuedToken",
    "authenticate_token",
    "base32_secret",
    "begin_totp_enrolment",
    "check_password_login",
    "confirm_totp_enrolment",
    "create_user",
    "has_second_factor",
    "issue_login_token",
    "reauthenticate_with_code",
    "regenerate_recovery_codes",
    "remove_authenticator",
    "revoke_token",
    "second_factor_count",
    "security_overview",
    "set_user_active",
    "sign_out",
    "totp_devices",
    "verify_second_factor",
]

INVALID_LOGIN = "Invalid username, password or one-time code."
TOKEN_PREFIX = "cv1_"  # noqa: S105 (a marker, not a secret)
RECOVERY_CODE_COUNT = 10


def identity_of(user: Any) -> Principal:
    """The user as an actor in the audit trail, before any role is known."""
    return Principal(user_id=user.pk, username=user.get_username())


def create_user(
    *,
    username: str,
    password: str,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
) -> User:
    """Create an active account after validating the password; no access comes with it."""
    candidate = User(username=username, email=email, first_name=first_name, last_name=last_name)
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise Invalid("The password is too weak.", details=list(exc.messages)) from None
    if User.objects.filter(username=username).exists():
        raise Invalid(f"The username {username!r} is taken.")
    candidate.set_password(password)
    candidate.save()
    return candidate


def check_password_login(username: str, password: str) -> User:
    """First step of signing in. Unknown users, wrong passwords and disabled accounts all fail
    with the same message (Django's backend also spends the same hashing time on each).

    After too many failures for one username (known or not) from one client address within
    the window, sign-ins with it from there are refused for a while; the failures are counted
    from the audit trail itself. (Counting per address too keeps a stranger from locking a
    colleague out; the second factor still stands behind any password guessed elsewhere.)
    """
    username = username[:150]
    window_start = timezone.now() - timedelta(seconds=settings.COHORTVAULT_LOGIN_FAILURE_WINDOW)
    recent_failures = AuditEntry.objects.filter(
        action="login.failed",
        actor=username,
        client_ip=current_context().client_ip,
        at__gte=window_start,
    ).count()
    if recent_failures >= settings.COHORTVAULT_LOGIN_FAILURE_LIMIT:
        with transaction.atomic():
            record(
                "login.throttled",
                actor=None,
                actor_name=username,
                outcome=Outcome.DENIED,
                reason=f"{recent_failures} failed sign-ins in the window",
            )
        raise Throttled("Too many failed sign-ins with this username. Try again later.")
    user = authenticate(username=username, password=password)
    if user is None:
        with transaction.atomic():
            record(
                "login.failed",
                actor=None,
                actor_name=username,
                outcome=Outcome.FAILED,
                reason="wrong username or password",
            )
        raise NotAuthenticated(INVALID_LOGIN)
    with transaction.atomic():
        record("login.password", actor=identity_of(user))
    return user


def has_second_factor(user: Any) -> bool:
    """An authenticator app or a security key (recovery codes alone do not count)."""
    return second_factor_count(user) > 0


def second_factor_count(user: Any) -> int:
    """How many authenticator apps and security keys the user has."""
    apps = TOTPDevice.objects.filter(user=user, confirmed=True).count()
    keys = WebAuthnCredential.objects.filter(user=user, confirmed=True).count()
    return int(apps + keys)


def totp_devices(user: Any) -> list[TOTPDevice]:
    return list(TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id"))


def verify_second_factor(user: Any, code: str) -> Device:
    """Second step of signing in: a current TOTP code or an unused recovery code.

    A code accepted once is refused afterwards (TOTP codes until the next time step, recovery
    codes forever). Repeated failures throttle the device with exponential back-off.
    """
    return _verify_code(user, code, action="login.second_factor")


def reauthenticate_with_code(user: Any, code: str) -> Device:
    """A fresh second factor from a signed-in user before a sensitive action (audited as
    ``reauthenticate``); the same codes, replay protection and throttling as at sign-in."""
    return _verify_code(user, code, action="reauthenticate")


def _verify_code(user: Any, code: str, *, action: str) -> Device:
    code = code.strip().replace(" ", "")
    devices: list[Device]
    if code.isdigit():
        devices = list(TOTPDevice.objects.filter(user=user, confirmed=True))
        kind = "totp"
    else:
        devices = list(RecoveryCodeDevice.objects.filter(user=user, confirmed=True))
        kind = "recovery_code"
    throttled = False
    for device in devices:
        allowed, _ = device.verify_is_allowed()
        if not allowed:
            throttled = True
            continue
        if device.verify_token(code):
            with transaction.atomic():
                record(action, actor=identity_of(user), details={"factor": kind})
            return device
    with transaction.atomic():
        record(
            action,
            actor=identity_of(user),
            outcome=Outcome.FAILED,
            reason="throttled after repeated failures" if throttled else "wrong code",
            details={"factor": kind},
        )
    if throttled:
        raise Throttled("Too many wrong codes. Wait a little and try again.")
    raise NotAuthenticated("That code is not valid.")


def begin_totp_enrolment(user: Any) -> TOTPDevice:
    """The unconfirmed authenticator the enrolment page shows as a QR code (made once)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


def confirm_totp_enrolment(user: Any, device_id: int, code: str, *, name: str = "") -> list[str]:
    """Confirm an authenticator with its first code; returns new recovery codes if the user had
    none (shown once, stored hashed)."""
    device = TOTPDevice.objects.filter(user=user, pk=device_id, confirmed=False).first()
    if device is None:
        raise NotFound("That enrolment is no longer pending; reload the page.")
    if not device.verify_token(code.strip()):
        with transaction.atomic():
            record(
                "factor.enrol",
                actor=identity_of(user),
                outcome=Outcome.FAILED,
                reason="wrong code",
                details={"factor": "totp"},
            )
        raise Invalid("That code is not valid. Check the time on your phone and try again.")
    with transaction.atomic():
        device.confirmed = True
        if name:
            device.name = name[:64]
        device.save()
        record(
            "factor.enrol",
            actor=identity_of(user),
            details={"factor": "totp", "device": device.name},
        )
        has_codes = RecoveryCode.objects.filter(device__user=user, used_at__isnull=True).exists()
        return [] if has_codes else _new_recovery_codes(user)


def remove_authenticator(user: Any, device_id: int) -> None:
    """Remove one of the user's authenticator apps; the last second factor cannot go."""
    device = TOTPDevice.objects.filter(user=user, pk=device_id, confirmed=True).first()
    if device is None:
        raise NotFound()
    if second_factor_count(user) <= 1:
        raise Conflict("This is your only second factor. Add another one before removing it.")
    with transaction.atomic():
        device.delete()
        record(
            "factor.revoke",
            actor=identity_of(user),
            details={"factor": "totp", "device": device.name},
        )


def regenerate_recovery_codes(user: Any) -> list[str]:
    """Replace all recovery codes of a verified user; the old ones stop working."""
    with transaction.atomic():
        codes = _new_recovery_codes(user)
        record("factor.recovery_codes", actor=identity_of(user), details={"count": len(codes)})
    return codes


def _new_recovery_codes(user: Any) -> list[str]:
    device, _ = RecoveryCodeDevice.objects.get_or_create(
        user=user, defaults={"name": "Recovery codes", "confirmed": True}
    )
    device.codes.all().delete()
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = secrets.token_hex(8).upper()  # 64 random bits
        RecoveryCode.objects.create(device=device, code_hash=digest(normalize_recovery_code(raw)))
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    return codes


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    record: ApiToken


def issue_login_token(username: str, password: str, otp: str) -> IssuedToken:
    """Password plus one-time code in, a short-lived bearer token out (for scripts).

    Users who must sign in with a security key (``require_security_key``) cannot get one: a
    code is not phishing-resistant. They get the usual answer; the audit entry says why.
    """
    user = check_password_login(username, password)
    if must_use_security_key(principal_for(user)):
        with transaction.atomic():
            record(
                "token.issue",
                actor=identity_of(user),
                outcome=Outcome.DENIED,
                reason="require_security_key: data managers and exporters must use a security "
                "key, which this endpoint cannot take; a one-time code is not enough",
            )
        raise NotAuthenticated(INVALID_LOGIN)
    try:
        verify_second_factor(user, otp)
    except (NotAuthenticated, Throttled):
        # One answer whatever failed: a distinct "throttled" would confirm the password.
        raise NotAuthenticated(INVALID_LOGIN) from None
    lifetime = timedelta(seconds=settings.COHORTVAULT_LOGIN_TOKEN_LIFETIME)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name="login",
            kind=ApiToken.Kind.LOGIN,
            prefix=raw[:10],
            token_hash=digest(raw),
            expires_at=timezone.now() + lifetime,
        )
        record(
            "token.issue",
            actor=identity_of(user),
            target=f"token {token.prefix}…",
            details={"kind": token.kind, "expires_at": token.expires_at.isoformat()},
        )
    return IssuedToken(token=raw, expires_at=token.expires_at, record=token)


def authenticate_token(raw: str) -> ApiToken | None:
    """The live token for a bearer string, if its user is still active; None otherwise."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=digest(raw), revoked_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def revoke_token(user: Any, token: ApiToken) -> None:
    if token.user_id != user.pk:
        raise NotFound()
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record("token.revoke", actor=identity_of(user), target=f"token {token.prefix}…")


def set_user_active(principal: Principal, username: str, *, active: bool, reason: str = "") -> User:
    """Disable or re-enable an account (administrator only). A disabled user's sessions and
    tokens stop working at their next request."""
    authorize(principal, Action.ADMINISTER, Facility.CONSORTIUM, target=f"user {username}")
    user = User.objects.filter(username=username).first()
    if user is None:
        raise NotFound(f"No user {username!r}.")
    with transaction.atomic():
        user.is_active = active
        user.save(update_fields=["is_active"])
        record(
            "user.enable" if active else "user.disable",
            actor=principal,
            target=f"user {username}",
            reason=reason,
        )
    return user


def sign_out(user: Any) -> None:
    with transaction.atomic():
        record("logout", actor=identity_of(user))


def base32_secret(device: TOTPDevice) -> str:
    """The TOTP secret as authenticator apps expect it typed in (RFC 4648 base32)."""
    return base64.b32encode(device.bin_key).decode("ascii").rstrip("=")


def security_overview(user: Any) -> dict[str, Any]:
    recovery = RecoveryCodeDevice.objects.filter(user=user).first()
    return {
        "devices": totp_devices(user),
        "keys": list(
            WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("created_at")
        ),
        "recovery_remaining": recovery.remaining() if recovery else 0,
        "tokens": list(
            ApiToken.objects.filter(
                user=user, revoked_at__isnull=True, expires_at__gt=timezone.now()
            )
        ),
    }
