"""Erasing a withdrawn subject from stored versions: the one change the database lets through
(new content without their rows, ``redacted_at`` set), and nothing else."""

from __future__ import annotations

import pyarrow.compute as pc
import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from cohortvault.access.policy import Principal
from cohortvault.audit.models import AuditEntry
from cohortvault.datasets import services
from cohortvault.datasets.models import DatasetVersion
from cohortvault.storage.maintenance import verify_blobs
from cohortvault.storage.models import Blob

pytestmark = pytest.mark.django_db


def test_redaction_rewrites_every_version_holding_the_subject(
    first: services.VersionInfo, manager: Principal
) -> None:
    old_blob = DatasetVersion.objects.get().blob_id
    changed = services.redact(site="oslo", subject_id="OSL-0002", reason="withdrawal 1")
    assert changed == [("study", 1, 1)]
    table = services.read_version(manager, "oslo", "study", 1)
    assert pc.unique(table["subject_id"]).to_pylist() == ["OSL-0001"]
    info = services.version_info(manager, "oslo", "study", 1)
    assert info.redacted_at is not None and info.rows == first.rows - 1
    assert info.checksum != first.checksum and info.column_names == first.column_names
    assert not Blob.objects.filter(pk=old_blob).exists()
    assert list(verify_blobs()) == []
    entry = AuditEntry.objects.get(action="datasets.redact")
    assert entry.details["rows_removed"] == 1 and "OSL-0002" not in str(entry.content())
    assert services.redact(site="oslo", subject_id="OSL-0002", reason="again") == []


def test_the_database_still_refuses_any_other_change(first: services.VersionInfo) -> None:
    row = DatasetVersion.objects.get()
    now = timezone.now()
    with pytest.raises(DatabaseError), transaction.atomic():  # no redaction mark
        DatasetVersion.objects.filter(pk=row.pk).update(rows=row.rows - 1)
    with pytest.raises(DatabaseError), transaction.atomic():  # marked, but the reason changes
        DatasetVersion.objects.filter(pk=row.pk).update(redacted_at=now, reason="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():  # marked, but rows grow
        DatasetVersion.objects.filter(pk=row.pk).update(redacted_at=now, rows=row.rows + 1)
    with pytest.raises(DatabaseError), transaction.atomic():
        DatasetVersion.objects.filter(pk=row.pk).update(redacted_at=now, number=7)
    assert DatasetVersion.objects.get().redacted_at is None
