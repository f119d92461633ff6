"""Consent withdrawal: the subject leaves the site's data and the project's current delivery at
once, quality control refuses them later, and once retention has passed their rows are erased
from every earlier version, delivery and import file, and only there."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from django.utils import timezone

from cohortvault.audit.models import AuditEntry
from cohortvault.corrections import services
from cohortvault.corrections.models import Withdrawal
from cohortvault.datasets import services as datasets
from cohortvault.deliveries import services as deliveries
from cohortvault.errors import Conflict, Invalid, NotFound, PermissionDenied
from cohortvault.files import services as files
from cohortvault.files.models import FileVersion
from cohortvault.governance.models import Notification
from cohortvault.imports import services as imports
from cohortvault.storage.maintenance import collect_garbage, verify_blobs
from cohortvault.tickets import services as tickets
from tests.deliveries.conftest import CODE, World

pytestmark = pytest.mark.django_db


def _subjects(table: Any) -> set[str]:
    return set(pc.unique(table["subject_id"]).to_pylist())


def _withdraw(world: World) -> services.WithdrawalInfo:
    return services.withdraw_consent(
        world.manager, site="oslo", subject_id="OSL-0002", reason="Letter of 2026-12-01."
    )


def test_withdrawal_removes_the_subject_from_current_data_and_deliveries(delivered: World) -> None:
    made = _withdraw(delivered)
    [correction] = made.corrections
    assert (correction.kind, correction.rows_removed, correction.new_version) == (
        "withdrawal",
        1,
        2,
    )
    current = datasets.read_version(delivered.manager, "oslo", "study", 2)
    assert _subjects(current) == {"OSL-0001"}
    earlier = datasets.read_version(delivered.manager, "oslo", "study", 1)
    assert _subjects(earlier) == {"OSL-0001", "OSL-0002"}  # until retention has passed
    assert len(datasets.log(delivered.manager, "berlin", "study")) == 1  # other sites untouched
    assert [d.number for d in deliveries.deliveries(delivered.member, CODE)] == [2, 1]
    second = deliveries.read_table(delivered.member, CODE, 2)
    assert "OSL-0002" not in _subjects(second) and "BER-0001" in _subjects(second)
    assert any(
        "withdrew consent" in n.text
        for n in Notification.objects.filter(user=delivered.member_user)
    )
    assert all(
        "OSL-0002" not in json.dumps(e.content(), default=str) for e in AuditEntry.objects.all()
    )
    with pytest.raises(Conflict):
        _withdraw(delivered)


def test_only_a_data_manager_records_withdrawals(delivered: World) -> None:
    with pytest.raises(PermissionDenied):
        services.withdraw_consent(delivered.member, site="oslo", subject_id="OSL-0002", reason="")
    with pytest.raises(Invalid):
        services.withdraw_consent(delivered.manager, site="oslo", subject_id=" ", reason="")
    assert not Withdrawal.objects.exists()
    assert services.withdrawals(delivered.member) == []


def test_quality_control_refuses_a_withdrawn_subject(delivered: World, settings: Any) -> None:
    settings.COHORTVAULT_QUALITY_CHECK_INTERVAL = 0
    _withdraw(delivered)
    content = b"subject_id,timepoint,site,mmse\nOSL-0002,wave1,oslo,20\nOSL-0001,wave1,oslo,28\n"
    entry = files.write_file(
        delivered.manager, "sites/oslo/import/study/late.csv", io.BytesIO(content), size=None
    )
    found = imports.for_file_version(delivered.manager, entry.version)
    imports.check(found.id)
    report = imports.report(delivered.manager, found.id)
    assert report is not None
    [finding] = [f for f in report.errors if f.check == "withdrawn-subject"]
    assert finding.rows == 1 and finding.row == 2 and "OSL-0002" not in finding.example


def test_erasure_after_retention_reaches_every_copy_and_only_those(
    delivered: World, settings: Any
) -> None:
    settings.COHORTVAULT_QUALITY_CHECK_INTERVAL = 0
    upload = b"subject_id,timepoint,site,mmse\nOSL-0002,wave1,oslo,24\n"
    files.write_file(
        delivered.manager, "sites/oslo/import/study/old.csv", io.BytesIO(upload), size=None
    )
    other = b"subject_id,timepoint,site,mmse\nOSL-0001,wave1,oslo,28\n"
    files.write_file(
        delivered.manager, "sites/oslo/import/study/other.csv", io.BytesIO(other), size=None
    )
    report = tickets.report(
        delivered.member,
        site="oslo",
        study="study",
        variables=["mmse"],
        subject_id="OSL-0002",
        title="OSL-0002 has two MMSE values",
        description="Seen for OSL-0002 in delivery 001.",
    )
    made = _withdraw(delivered)
    assert collect_garbage().purged.get("withdrawals erased") is None  # not yet due
    Withdrawal.objects.filter(pk=made.id).update(erase_after=timezone.now() - timedelta(seconds=1))
    result = collect_garbage()
    assert result.purged["withdrawals erased"] == 1

    first = datasets.read_version(delivered.manager, "oslo", "study", 1)
    assert _subjects(first) == {"OSL-0001"}
    assert datasets.version_info(delivered.manager, "oslo", "study", 1).redacted_at is not None
    assert _subjects(datasets.read_version(delivered.manager, "berlin", "study", 1)) == {"BER-0001"}
    old = deliveries.read_table(delivered.member, CODE, 1)
    assert _subjects(old) == {"OSL-0001", "BER-0001"}
    folder = f"projects/{CODE}/deliveries/001"
    csv_text = b"".join(files.read_file(delivered.member, f"{folder}/data.csv").chunks).decode()
    assert "OSL-0002" not in csv_text and "OSL-0001" in csv_text
    log = json.loads(
        b"".join(files.read_file(delivered.member, f"{folder}/redactions.json").chunks)
    )
    assert log[0]["rows_removed"] == 1
    for name in ("data.csv", "data.parquet"):
        stored = FileVersion.objects.filter(node__area=f"projects/{CODE}", node__name=name)
        assert stored.filter(node__path=f"deliveries/001/{name}").count() == 1  # no old copy
    with pytest.raises(NotFound):  # erased: no longer a file
        files.stat(delivered.manager, "sites/oslo/import/study/old.csv")
    assert files.stat(delivered.manager, "sites/oslo/import/study/other.csv").size == len(other)
    scrubbed = tickets.get(delivered.member, report.number)
    assert "OSL-0002" not in scrubbed.title + scrubbed.description + scrubbed.subject_id
    assert list(verify_blobs()) == []
    erased = Withdrawal.objects.get(pk=made.id)
    assert erased.erased_at is not None and erased.erasure["deliveries redacted"] == 1
    parquet = b"".join(files.read_file(delivered.member, f"{folder}/data.parquet").chunks)
    assert "OSL-0002" not in _subjects(pq.read_table(io.BytesIO(parquet)))
    assert collect_garbage().purged.get("withdrawals erased") is None  # done once
