"""Security keys (FIDO2 / WebAuthn credentials) as a second factor: the doors for enrolling,
naming, using and revoking them.

The protocol itself (challenges, signatures, origins) is django-otp-webauthn's and py_webauthn's;
a ``Ceremony`` (``identity.webauthn.SecurityKeyHelper``, bound to one request) carries it out.
These functions decide what may happen, change the stored keys and write the audit entry in the
same transaction. Keys are a second factor only: the password always comes first.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Protocol

from django.db import transaction
from django_otp_webauthn.exceptions import OTPWebAuthnApiError
from django_otp_webauthn.models import WebAuthnCredential
from webauthn.helpers.exceptions import WebAuthnException

from cohortvault.audit.trail import Outcome, record
from cohortvault.errors import Conflict, Invalid, NotAuthenticated, NotFound
from cohortvault.identity.models import RecoveryCode
from cohortvault.identity.services import _new_recovery_codes, identity_of, second_factor_count

__all__ = [
    "FACTOR",
    "Ceremony",
    "Purpose",
    "enrol_security_key",
    "has_security_key",
    "name_new_security_key",
    "record_security_key_failure",
    "rename_security_key",
    "revoke_security_key",
    "security_keys",
    "verify_security_key",
]

FACTOR = "security_key"
NAME_MAX_LENGTH = 64
NOT_ACCEPTED = "The security key was not accepted."


class Purpose(StrEnum):
    """Why a key is used: the second step of signing in, or a fresh factor later on."""

    LOGIN = "login.second_factor"
    REAUTHENTICATION = "reauthenticate"


class Ceremony(Protocol):
    """The WebAuthn checks for one request (its relying party ID and origin)."""

    def register_complete(self, user: Any, state: dict[str, Any], data: dict[str, Any]) -> Any: ...

    def authenticate_complete(
        self, user: Any, state: dict[str, Any], data: dict[str, Any]
    ) -> Any: ...


def security_keys(user: Any) -> list[WebAuthnCredential]:
    """The user's keys, oldest first (each with name, created_at and last_used_at)."""
    return list(
        WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("created_at", "pk")
    )


def has_security_key(user: Any) -> bool:
    return bool(WebAuthnCredential.objects.filter(user=user, confirmed=True).exists())


def enrol_security_key(
    user: Any, *, ceremony: Ceremony, state: dict[str, Any], data: dict[str, Any]
) -> WebAuthnCredential:
    """Store the key a registration ceremony created, after checking its attestation against
    the challenge, relying party and origin of this request."""
    try:
        with transaction.atomic():
            key = ceremony.register_complete(user=user, state=state, data=data)
            record(
                "factor.enrol",
                actor=identity_of(user),
                details={"factor": FACTOR, "device": key.name},
            )
    except (OTPWebAuthnApiError, WebAuthnException) as exc:
        record_security_key_failure(user, action="factor.enrol", reason=_reason(exc))
        raise Invalid("The security key could not be registered. Try again.") from None
    return key


def name_new_security_key(
    user: Any, key_id: int, name: str
) -> tuple[WebAuthnCredential, list[str]]:
    """Name a key right after enrolling it (a blank name keeps the numbered one); returns the
    key and new recovery codes if the user had none (a key as first factor), shown once and
    stored hashed."""
    key = _own_key(user, key_id)
    with transaction.atomic():
        if name.strip():
            _rename(user, key, name)
        has_codes = RecoveryCode.objects.filter(device__user=user, used_at__isnull=True).exists()
        return key, [] if has_codes else _new_recovery_codes(user)


def rename_security_key(user: Any, key_id: int, name: str) -> WebAuthnCredential:
    key = _own_key(user, key_id)
    with transaction.atomic():
        _rename(user, key, name)
    return key


def revoke_security_key(user: Any, key_id: int) -> WebAuthnCredential:
    """Delete one of the user's keys: it stops working at once, and a session confirmed with it
    needs a second factor again. The last second factor cannot go."""
    key = _own_key(user, key_id)
    if second_factor_count(user) <= 1:
        raise Conflict("This is your only second factor. Add another one before removing it.")
    with transaction.atomic():
        key.delete()
        record(
            "factor.revoke",
            actor=identity_of(user),
            details={"factor": FACTOR, "device": key.name},
        )
    return key


def verify_security_key(
    user: Any,
    *,
    ceremony: Ceremony,
    state: dict[str, Any],
    data: dict[str, Any],
    purpose: Purpose,
) -> WebAuthnCredential:
    """Check a key's signed answer to this session's challenge (the key must be the user's,
    the origin and relying party this request's); audited as ``purpose`` either way."""
    try:
        with transaction.atomic():
            key = ceremony.authenticate_complete(user=user, state=state, data=data)
            if not key.confirmed or not key.user.is_active:
                raise NotAuthenticated("The key or its account is disabled.")
            record(
                str(purpose),
                actor=identity_of(user),
                details={"factor": FACTOR, "device": key.name},
            )
    except (OTPWebAuthnApiError, WebAuthnException, NotAuthenticated) as exc:
        record_security_key_failure(user, action=str(purpose), reason=_reason(exc))
        raise NotAuthenticated(NOT_ACCEPTED) from None
    return key


def record_security_key_failure(user: Any, *, action: str, reason: str) -> None:
    """Audit a security-key step that failed before or outside the checks above."""
    with transaction.atomic():
        record(
            action,
            actor=identity_of(user),
            outcome=Outcome.FAILED,
            reason=reason,
            details={"factor": FACTOR},
        )


def _own_key(user: Any, key_id: int) -> WebAuthnCredential:
    key = WebAuthnCredential.objects.filter(user=user, pk=key_id, confirmed=True).first()
    if key is None:
        raise NotFound()
    return key


def _rename(user: Any, key: WebAuthnCredential, name: str) -> None:
    name = " ".join(name.split())[:NAME_MAX_LENGTH]
    if not name:
        raise Invalid("Give the key a name.")
    old = key.name
    key.name = name
    key.save(update_fields=["name"])
    record(
        "factor.rename",
        actor=identity_of(user),
        details={"factor": FACTOR, "device": name, "was": old},
    )


def _reason(exc: Exception) -> str:
    """What went wrong, for the audit trail (py_webauthn names the mismatch, e.g. the origin)."""
    if isinstance(exc, OTPWebAuthnApiError):
        cause = exc.__cause__
        detail = f"{exc.code}: {exc}"
        return f"{detail} ({cause})" if cause else detail
    if isinstance(exc, NotAuthenticated):
        return exc.message
    return f"{type(exc).__name__}: {exc}"
