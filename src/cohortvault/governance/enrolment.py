"""Redeeming an enrolment code: the new user sets a password and enrols a second factor, and
only then does the pending account become active."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from cohortvault.audit.trail import Outcome, record
from cohortvault.errors import Invalid, NotFound
from cohortvault.governance.models import EnrolmentCode
from cohortvault.identity import services as identity
from cohortvault.identity.models import User, digest

__all__ = ["complete_enrolment", "enrolment_for", "set_enrolment_password"]

INVALID_CODE = "This enrolment code is not valid: it was used, it expired, or it is mistyped."


def _normalise(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def enrolment_for(code: str) -> EnrolmentCode:
    """The live code, with its pending user; every other case answers the same."""
    found = (
        EnrolmentCode.objects.select_related("user")
        .filter(code_hash=digest(_normalise(code)), used_at__isnull=True,
                expires_at__gt=timezone.now(), user__pending=True)
        .first()
    )  # fmt: skip
    if found is None:
        with transaction.atomic():
            record("enrolment.refused", actor=None, outcome=Outcome.FAILED, reason=INVALID_CODE)
        raise NotFound(INVALID_CODE)
    return found


def set_enrolment_password(code: str, password: str) -> User:
    enrolment = enrolment_for(code)
    user: User = enrolment.user
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise Invalid("The password is too weak.", details=list(exc.messages)) from None
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        record("enrolment.password", actor=identity.identity_of(user))
    return user


def authenticator_for(code: str) -> TOTPDevice:
    """The authenticator the enrolment page shows as a QR code (after the password is set)."""
    user = enrolment_for(code).user
    if not user.has_usable_password():
        raise Invalid("Set a password first.")
    return identity.begin_totp_enrolment(user)


def complete_enrolment(
    code: str, device_id: int, one_time_code: str
) -> tuple[User, Any, list[str]]:
    """Confirm the authenticator; the code is used up and the account becomes active."""
    enrolment = enrolment_for(code)
    user: User = enrolment.user
    if not user.has_usable_password():
        raise Invalid("Set a password first.")
    recovery_codes = identity.confirm_totp_enrolment(user, device_id, one_time_code)
    with transaction.atomic():
        enrolment.used_at = timezone.now()
        enrolment.save(update_fields=["used_at"])
        user.is_active, user.pending = True, False
        user.save(update_fields=["is_active", "pending"])
        record("enrolment.complete", actor=identity.identity_of(user))
    device = TOTPDevice.objects.get(pk=device_id)
    return user, device, recovery_codes
