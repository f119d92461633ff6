"""A delivery: one numbered, immutable extraction into a project's area."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from cohortvault.consortium.models import Project


class Delivery(models.Model):
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="deliveries")
    number = models.PositiveIntegerField()
    spec = models.TextField(
        help_text="The extraction spec as JSON (sources, variables, transforms)."
    )
    provenance = models.TextField(help_text="provenance.json as delivered.")
    rows = models.PositiveIntegerField(default=0)
    columns = models.PositiveIntegerField(default=0)
    files = models.JSONField(default=list, help_text="Name, size and SHA-256 of each file.")
    notes = models.JSONField(default=list, help_text="What the engine noticed (absent data).")
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["project", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="one_delivery_number")
        ]

    def __str__(self) -> str:
        return f"{self.project.code} delivery {self.number:03d}"

    @property
    def folder(self) -> str:
        return f"projects/{self.project.code}/deliveries/{self.number:03d}"
