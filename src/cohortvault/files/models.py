"""Files and folders of every area, their versions, and resumable uploads in progress."""

from __future__ import annotations

import hashlib
import uuid

from django.db import models
from django.utils import timezone

from cohortvault.storage.models import Blob


def path_key(area: str, path: str) -> str:
    """A fixed-length key for (area, path): paths may be longer than a database index allows."""
    return hashlib.sha256(f"{area}\x00{path}".encode()).hexdigest()


class Node(models.Model):
    """A file or folder at a path inside an area. Deleted nodes stay restorable for a while."""

    class Kind(models.TextChoices):
        FILE = "file"
        FOLDER = "folder"

    area = models.CharField(max_length=200)
    path = models.CharField(max_length=1024)
    key = models.CharField(max_length=64, unique=True)
    parent_key = models.CharField(max_length=64, db_index=True)
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    current = models.ForeignKey(
        "FileVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.CharField(max_length=150, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    deleted_by = models.CharField(max_length=150, blank=True)
    locked_to = models.CharField(
        max_length=150,
        blank=True,
        help_text="Quality control found personal data: only this uploader and the data "
        "manager may reach the file.",
    )

    class Meta:
        ordering = ["area", "path"]

    def __str__(self) -> str:
        return f"{self.area}/{self.path}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.derive()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def derive(self) -> Node:
        """Fill the fields that follow from area and path (for ``save`` and bulk inserts)."""
        self.key = path_key(self.area, self.path)
        parent = self.path.rsplit("/", 1)[0] if "/" in self.path else ""
        self.parent_key = path_key(self.area, parent)
        self.name = self.path.rsplit("/", 1)[-1]
        return self

    @property
    def full_path(self) -> str:
        return f"{self.area}/{self.path}"


class FileVersion(models.Model):
    """One content of a file. ``replaced_at`` is when it stopped being current; it stays
    restorable for the retention period after that."""

    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="versions")
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="versions")
    size = models.BigIntegerField()
    checksum = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=150)
    note = models.CharField(max_length=200, blank=True)
    replaced_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"version {self.pk} of {self.node}"


class Upload(models.Model):
    """A resumable upload: chunks become parts of one blob; nothing is visible until complete."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    area = models.CharField(max_length=200)
    path = models.CharField(max_length=1024)
    owner_id = models.BigIntegerField()
    owner = models.CharField(max_length=150)
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="+")
    expected_size = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"upload {self.id} to {self.area}/{self.path}"
