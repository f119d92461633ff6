"""Requests for accounts and for access changes, every decision on them, enrolment codes and
in-app notifications. Nothing here is ever deleted: it is the history of who may do what."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from cohortvault.consortium.models import Group, Membership, Site


class Registration(models.Model):
    """A site's contact person asks for an account for a new researcher."""

    class Status(models.TextChoices):
        AWAITING_CONFIRMATION = "awaiting_confirmation", "awaiting the data protection officer"
        AWAITING_APPROVAL = "awaiting_approval", "awaiting the administrator"
        APPROVED = "approved"
        REFUSED = "refused"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="registrations")
    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150)
    email = models.EmailField()
    requested_groups = models.JSONField(
        default=list, blank=True, help_text="Further groups asked for, as group ids."
    )
    reason = models.TextField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=32, choices=Status.choices, default=Status.AWAITING_CONFIRMATION
    )
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="registration",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"registration of {self.first_name} {self.last_name} ({self.site.code})"


class AccessRequest(models.Model):
    """Add someone to a group, or remove them, once the right people agreed."""

    class Operation(models.TextChoices):
        ADD = "add"
        REMOVE = "remove"

    class Status(models.TextChoices):
        AWAITING_ASSEMBLY = "awaiting_assembly", "awaiting an approver (general assembly)"
        AWAITING_APPROVAL = "awaiting_approval", "awaiting the administrator"
        APPROVED = "approved"
        REFUSED = "refused"
        WITHDRAWN = "withdrawn"

    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_requests"
    )
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="requests")
    operation = models.CharField(max_length=8, choices=Operation.choices)
    reason = models.TextField()
    valid_until = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=32, choices=Status.choices)
    registration = models.ForeignKey(
        Registration, null=True, blank=True, on_delete=models.PROTECT, related_name="requests"
    )
    membership = models.ForeignKey(
        Membership,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The membership this request created or ended.",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        preposition = "to" if self.operation == self.Operation.ADD else "from"
        return f"{self.operation} {self.subject} {preposition} {self.group}"


class Decision(models.Model):
    """One recorded step of a request: who decided what, when and why."""

    class Outcome(models.TextChoices):
        APPROVED = "approved"
        REFUSED = "refused"

    registration = models.ForeignKey(
        Registration, null=True, blank=True, on_delete=models.PROTECT, related_name="decisions"
    )
    access_request = models.ForeignKey(
        AccessRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="decisions"
    )
    step = models.CharField(max_length=16)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reason = models.TextField(blank=True)
    reference = models.CharField(
        max_length=200, blank=True, help_text="e.g. the assembly's minutes"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["decided_at", "id"]

    def __str__(self) -> str:
        return f"{self.step} {self.outcome} by {self.decided_by}"


class EnrolmentCode(models.Model):
    """A one-time code handed over out of band; only its hash is kept."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrolment_codes"
    )
    code_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"enrolment code of {self.user}"


class Notification(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    text = models.CharField(max_length=500)
    link = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.text
