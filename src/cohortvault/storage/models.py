"""Area keys (wrapped under the master key) and the encrypted blobs they protect."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class AreaKey(models.Model):
    """One area's age X25519 identity and checksum key, encrypted to the master key.

    Destroying it (``wrapped`` emptied) makes every blob of the area unreadable for good:
    that is how an area's content is finally erased (crypto-shredding).
    """

    area = models.CharField(max_length=200, unique=True)
    recipient = models.CharField(max_length=100)
    master_recipient = models.CharField(max_length=100)
    wrapped = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"key of {self.area}"


class Blob(models.Model):
    """Encrypted content in one or more parts (resumable uploads add a part per chunk).

    ``checksum`` is an HMAC under the area's own key, so equal content in two areas has
    unrelated checksums and nobody learns what another area holds.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    area_key = models.ForeignKey(AreaKey, on_delete=models.PROTECT, related_name="blobs")
    size = models.BigIntegerField(default=0)
    part_sizes = models.JSONField(default=list)
    part_checksums = models.JSONField(default=list)
    checksum = models.CharField(max_length=64, blank=True)
    complete = models.BooleanField(default=False)
    purpose = models.CharField(
        max_length=16, default="file", help_text="Which domain keeps it (and purges it)."
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"blob {self.id}"

    @property
    def parts(self) -> int:
        return len(self.part_sizes)
