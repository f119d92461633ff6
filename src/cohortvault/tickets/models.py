"""A reported data error, its history (every state change, comment, attachment and correction)
and its attachments, encrypted under the key of its site's data area."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from cohortvault.consortium.models import Site, Study
from cohortvault.storage.models import Blob

#: ``Blob.purpose`` of attachments: kept as long as their ticket.
BLOB_PURPOSE = "ticket"


class Ticket(models.Model):
    class State(models.TextChoices):
        OPEN = "open", "open"
        TRIAGED = "triaged", "triaged"
        CORRECTING = "correcting", "being corrected"
        RESOLVED = "resolved", "resolved"
        WONT_FIX = "wont_fix", "will not fix"
        DUPLICATE = "duplicate", "duplicate"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="tickets")
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="tickets")
    variables = models.JSONField(default=list, help_text="The variables the error concerns.")
    subject_id = models.CharField(max_length=100, blank=True)
    timepoint = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=200)
    description = models.TextField()
    found_in = models.CharField(
        max_length=200, blank=True, help_text="Where it was seen: a dataset version or delivery."
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reported_by = models.CharField(max_length=150)
    reported_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        indexes = [models.Index(fields=["state"]), models.Index(fields=["reported_by"])]

    def __str__(self) -> str:
        return f"ticket {self.pk}: {self.title}"


#: States in which a ticket is done with (a correction or a reopening starts it again).
CLOSED = (Ticket.State.RESOLVED, Ticket.State.WONT_FIX, Ticket.State.DUPLICATE)


class Event(models.Model):
    """One step of a ticket's history, in order."""

    class Kind(models.TextChoices):
        REPORTED = "reported"
        STATE = "state"
        COMMENT = "comment"
        ATTACHMENT = "attachment"
        CORRECTION = "correction"
        REDELIVERY = "redelivery"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.CharField(max_length=150)
    at = models.DateTimeField(default=timezone.now)
    old_state = models.CharField(max_length=16, blank=True)
    new_state = models.CharField(max_length=16, blank=True)
    text = models.TextField(blank=True)
    details = models.JSONField(default=dict)

    class Meta:
        ordering = ["ticket", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} on ticket {self.ticket_id}"


class Attachment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100, default="application/octet-stream")
    blob = models.OneToOneField(Blob, on_delete=models.PROTECT, related_name="+")
    size = models.BigIntegerField()
    added_by = models.CharField(max_length=150)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["ticket", "pk"]

    def __str__(self) -> str:
        return f"{self.name} on ticket {self.ticket_id}"
