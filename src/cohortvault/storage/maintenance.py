"""Keeping the blob store tidy and checked: garbage collection and verification.

Which blobs are still wanted is known to the domains that reference them (files, later
imports and exports). They register a ``Purger`` at start-up; ``collect_garbage`` first lets
each purge what its retention rules release, then removes stored blobs that no ``Blob`` row
references any more, and temporary files of writes that never finished.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.db import transaction

from cohortvault.storage import blobs
from cohortvault.storage.keys import secrets_for
from cohortvault.storage.models import Blob

#: Stored blobs younger than this are never collected: their database row may still be on its
#: way (the file is renamed into place before the transaction that records it commits).
GRACE_SECONDS = 3600


class Purger(Protocol):
    def __call__(self) -> dict[str, int]:
        """Release what retention no longer keeps; return counts by kind for the report."""


_purgers: list[Purger] = []


def register_purger(purger: Purger) -> None:
    if purger not in _purgers:
        _purgers.append(purger)


def backend() -> blobs.LocalBlobBackend:
    return blobs.LocalBlobBackend(Path(settings.DATA_DIR) / "blobs")


def forget_blob(blob: Blob) -> None:
    """Delete a blob's row, and its stored parts once that deletion has committed (a rollback
    must not leave a row without content). Callers do this once nothing refers to it."""
    blob_id = blob.id.hex
    blob.delete()
    transaction.on_commit(lambda: backend().delete(blob_id))


@dataclass
class GarbageReport:
    purged: dict[str, int] = field(default_factory=dict)
    orphans_removed: int = 0
    shredded_removed: int = 0
    temporary_removed: int = 0


def collect_garbage(*, now: float | None = None) -> GarbageReport:
    report = GarbageReport()
    for purger in _purgers:
        for kind, count in purger().items():
            report.purged[kind] = report.purged.get(kind, 0) + count
    moment = time.time() if now is None else now
    store = backend()
    shredded = Blob.objects.filter(area_key__destroyed_at__isnull=False).values_list(
        "id", flat=True
    )
    for shredded_id in shredded:
        store.delete(shredded_id.hex)  # unreadable for good; the rows go with their owners
        report.shredded_removed += 1
    known = {blob_id.hex for blob_id in Blob.objects.values_list("id", flat=True)}
    for blob_id, written_at in store.stored_blobs():
        if blob_id not in known and written_at < moment - GRACE_SECONDS:
            store.delete(blob_id)
            report.orphans_removed += 1
    report.temporary_removed = store.clean_temporary(older_than=moment - GRACE_SECONDS)
    return report


@dataclass(frozen=True)
class BlobProblem:
    blob_id: str
    area: str
    message: str

    def __str__(self) -> str:
        return f"blob {self.blob_id} ({self.area}): {self.message}"


def verify_blobs(progress: Callable[[int], None] | None = None) -> Iterator[BlobProblem]:
    """Decrypt every complete blob and compare sizes and checksums with its record."""
    store = backend()
    checked = 0
    for blob in Blob.objects.filter(complete=True).select_related("area_key").iterator():
        area = blob.area_key.area
        checked += 1
        if progress is not None:
            progress(checked)
        if blob.area_key.destroyed_at is not None:
            continue  # crypto-shredded on purpose; gc removes it
        keys = secrets_for(blob.area_key)
        sums: list[str] = []
        try:
            for part, (size, checksum) in enumerate(
                zip(blob.part_sizes, blob.part_checksums, strict=True)
            ):
                found = blobs.verify_part(store, keys, blob.id.hex, part)
                if found.size != size or found.checksum != checksum:
                    yield BlobProblem(blob.id.hex, area, f"part {part} does not match its record")
                sums.append(found.checksum)
        except blobs.BlobCorrupt as exc:
            yield BlobProblem(blob.id.hex, area, exc.message)
            continue
        if blobs.combine_checksums(keys.mac_key, sums) != blob.checksum:
            yield BlobProblem(blob.id.hex, area, "checksum does not match its record")
