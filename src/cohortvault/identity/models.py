"""Users, hashed recovery codes (a django-otp device) and hashed API tokens."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django_otp.models import Device, ThrottlingMixin, TimestampMixin


def digest(secret: str) -> str:
    """SHA-256 of a high-entropy random secret (recovery code or token); never of a password."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class User(AbstractUser):  # type: ignore[django-manager-missing]
    """A person with an account. Passwords are argon2-hashed; a second factor is mandatory.

    An approved registration creates the account ``pending`` (and inactive) until its owner
    redeems the enrolment code: sets a password and enrols a second factor.
    """

    pending = models.BooleanField(default=False)

    class Meta:
        ordering = ["username"]


class RecoveryCodeDevice(TimestampMixin, ThrottlingMixin, Device):  # type: ignore[misc]
    """Single-use recovery codes, stored hashed, for when the authenticator is lost."""

    def get_throttle_factor(self) -> int:
        factor: int = getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1)
        return factor

    def verify_token(self, token: object) -> bool:
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        normalized = normalize_recovery_code(str(token))
        wanted = digest(normalized)
        match = None
        for code in self.codes.filter(used_at__isnull=True):
            if hmac.compare_digest(code.code_hash, wanted):
                match = code
        if match is None:
            self.throttle_increment(commit=True)
            return False
        match.used_at = timezone.now()
        match.save(update_fields=["used_at"])
        self.throttle_reset(commit=False)
        self.set_last_used_timestamp(commit=False)
        self.save()
        return True

    def remaining(self) -> int:
        return int(self.codes.filter(used_at__isnull=True).count())


def normalize_recovery_code(raw: str) -> str:
    return "".join(ch for ch in raw.upper() if ch.isalnum())


class RecoveryCode(models.Model):
    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"recovery code of {self.device.user}"


class ApiToken(models.Model):
    """A bearer token. Only its SHA-256 is stored; the token itself is shown once."""

    class Kind(models.TextChoices):
        LOGIN = "login", "login (from POST /api/v1/auth/token)"
        PERSONAL = "personal", "personal"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=16, default="full")
    scope_project = models.CharField(max_length=40, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.LOGIN)
    prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
