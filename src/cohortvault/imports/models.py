"""An import: one stored version of a tabular file in a site's import area, its
quality-control report, and the data manager's decision on it."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from cohortvault.consortium.models import Site, Study
from cohortvault.files.models import FileVersion


class Import(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued"  # stored; quality control has not run yet
        CHECKING = "checking"
        CHECKED = "checked"  # the report is ready; awaiting the data manager
        ACCEPTED = "accepted"
        REJECTED = "rejected"
        WITHDRAWN = "withdrawn"  # its file was deleted before a decision

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="imports")
    study = models.ForeignKey(
        Study, null=True, blank=True, on_delete=models.PROTECT, related_name="imports"
    )
    path = models.CharField(max_length=1300, help_text="Where the file was stored.")
    filename = models.CharField(max_length=255)
    version = models.ForeignKey(
        FileVersion,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The stored content that was checked (gone once retention has purged it).",
    )
    size = models.BigIntegerField(default=0)
    uploaded_by = models.CharField(max_length=150)
    uploaded_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    report = models.TextField(blank=True, help_text="The quality-control report as JSON.")
    errors = models.PositiveIntegerField(default=0)
    warnings = models.PositiveIntegerField(default=0)
    personal_data = models.BooleanField(default=False)
    dictionary_version = models.PositiveIntegerField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(
        blank=True, help_text="Why it was rejected, or accepted despite warnings."
    )
    dataset_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="The dataset version an acceptance made."
    )

    class Meta:
        ordering = ["-uploaded_at", "-pk"]
        indexes = [models.Index(fields=["state"])]

    def __str__(self) -> str:
        return f"import {self.pk}: {self.path}"

    @property
    def pending(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.CHECKING, self.State.CHECKED)

    @property
    def acceptable(self) -> bool:
        return self.state == self.State.CHECKED and self.errors == 0 and self.study_id is not None
