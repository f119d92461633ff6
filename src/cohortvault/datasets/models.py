"""Datasets and their versions. A version is never changed or deleted once stored."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

from cohortvault.consortium.models import Study
from cohortvault.errors import Conflict
from cohortvault.storage.models import Blob

#: ``Blob.purpose`` of a version's content: no purger releases these, so versions are kept.
BLOB_PURPOSE = "dataset"


class Dataset(models.Model):
    """The harmonized tabular data of one study of one site, as a series of versions."""

    study = models.OneToOneField(Study, on_delete=models.PROTECT, related_name="dataset")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["study__site__code", "study__code"]

    def __str__(self) -> str:
        return f"dataset {self.study}"


class DatasetVersion(models.Model):
    """One accepted state of a dataset: a Parquet file, encrypted under the site data area's
    key (``blob``), with what it holds and where it came from.

    Rows are immutable: ``save`` on a stored row and ``delete`` raise, and database triggers
    refuse UPDATE (and, on PostgreSQL, DELETE) from any other route. The one exception is the
    erasure of a withdrawn subject's rows (``services.redact``), which may replace the content
    by the same content without those rows and must set ``redacted_at``.
    """

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(help_text="1, 2, 3, … within its dataset.")
    blob = models.OneToOneField(Blob, on_delete=models.PROTECT, related_name="dataset_version")
    rows = models.PositiveBigIntegerField()
    columns = models.PositiveIntegerField()
    column_names = models.JSONField(default=list, help_text="The columns, in their order.")
    dictionary_version = models.PositiveIntegerField(null=True, blank=True)
    import_id = models.PositiveIntegerField(
        null=True, blank=True, help_text="The import it was accepted from (none for corrections)."
    )
    reason = models.TextField(blank=True, help_text="Why it was accepted (say, with warnings).")
    source = models.CharField(max_length=500, blank=True, help_text="e.g. import 12: visit2.csv")
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)
    checksum = models.CharField(max_length=64, help_text="The blob's checksum.")
    ticket = models.PositiveIntegerField(
        null=True, blank=True, help_text="The error ticket a correction resolved."
    )
    redacted_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When rows of subjects who withdrew consent were erased from it (its blob, "
        "rows and checksum are then those of the redacted content).",
    )

    class Meta:
        ordering = ["dataset", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "number"], name="dataset_version_number")
        ]

    def __str__(self) -> str:
        return f"version {self.number} of {self.dataset}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise Conflict("A dataset version cannot be changed; create a new version.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise Conflict("A dataset version cannot be deleted.")
