"""Corrections, the deliveries they affect, and consent withdrawals.

None of these rows holds an individual-level value: a correction keeps counts and variable
names (its cell-level change log is the diff of the two dataset versions, readable by those who
may read the site's data); only a withdrawal names its subject, for the data managers, so that
the subject's rows can be erased and never imported again.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from cohortvault.consortium.models import Project, Site, Study
from cohortvault.deliveries.models import Delivery
from cohortvault.tickets.models import Ticket


class Withdrawal(models.Model):
    """A participant withdrew consent: their rows leave every dataset of the site now (new
    versions) and every earlier version and delivery once ``erase_after`` has passed."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="withdrawals")
    subject_id = models.CharField(max_length=100)
    reason = models.TextField(blank=True)
    recorded_by = models.CharField(max_length=150)
    recorded_at = models.DateTimeField(default=timezone.now)
    erase_after = models.DateTimeField(help_text="When the retention period ends.")
    erased_at = models.DateTimeField(null=True, blank=True)
    erasure = models.JSONField(default=dict, help_text="What the erasure removed, in counts.")

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(fields=["site", "subject_id"], name="one_withdrawal")
        ]

    def __str__(self) -> str:
        return f"withdrawal {self.pk} at {self.site.code}"


class Correction(models.Model):
    class Kind(models.TextChoices):
        CELLS = "cells", "cell edits"
        FILE = "file", "corrected file"
        WITHDRAWAL = "withdrawal", "consent withdrawal"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.PROTECT, related_name="corrections"
    )
    withdrawal = models.ForeignKey(
        Withdrawal, null=True, blank=True, on_delete=models.PROTECT, related_name="corrections"
    )
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="+")
    old_version = models.PositiveIntegerField()
    new_version = models.PositiveIntegerField()
    import_id = models.PositiveIntegerField(null=True, blank=True)
    reason = models.TextField()
    variables = models.JSONField(default=list, help_text="Variables with a changed value.")
    cells = models.PositiveIntegerField(default=0, help_text="Values changed.")
    rows_added = models.PositiveIntegerField(default=0)
    rows_removed = models.PositiveIntegerField(default=0)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"correction {self.pk} of {self.site.code}/{self.study.code}"


class AffectedDelivery(models.Model):
    """A delivery that holds values a correction changed (or rows a withdrawal removed)."""

    correction = models.ForeignKey(Correction, on_delete=models.CASCADE, related_name="affected")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="+")
    delivery = models.ForeignKey(Delivery, on_delete=models.PROTECT, related_name="+")
    cells = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0, help_text="Rows of a withdrawn subject.")
    variables = models.JSONField(default=list)
    latest = models.BooleanField(
        default=False, help_text="The project's newest delivery when the correction landed."
    )
    redelivery = models.ForeignKey(
        Delivery, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    problem = models.TextField(blank=True, help_text="Why a re-delivery could not be made.")

    class Meta:
        ordering = ["correction", "project", "delivery"]
        constraints = [
            models.UniqueConstraint(fields=["correction", "delivery"], name="one_affected_row")
        ]

    def __str__(self) -> str:
        return f"{self.delivery} affected by correction {self.correction_id}"
