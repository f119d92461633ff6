"""The datasets' service doors: creating versions (the data manager only, all or nothing),
reading them (the site's members and the data manager), exports, and the audit trail."""

from __future__ import annotations

import csv
import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.db import DatabaseError, connection, transaction

from cohortvault.access.policy import Principal, Role
from cohortvault.audit.models import AuditEntry
from cohortvault.consortium.models import Site
from cohortvault.datasets import services, stored
from cohortvault.datasets.models import Dataset, DatasetVersion
from cohortvault.errors import Conflict, Invalid, NotFound, PermissionDenied
from cohortvault.identity.models import User
from cohortvault.storage.maintenance import backend
from cohortvault.storage.models import Blob
from tests import factories
from tests.datasets.conftest import ROWS, STUDY, dictionary, text_table

pytestmark = pytest.mark.django_db


def entries(action: str, **filters: Any) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, **filters).order_by("seq"))


def stored_blobs() -> set[str]:
    return {blob_id for blob_id, _ in backend().stored_blobs()}


def member_of(site: Site, username: str) -> Principal:
    user = factories.make_user(username)
    factories.grant(user, Role.SITE_MEMBER, site=site)
    return factories.principal(user)


def create(principal: Principal, rows: list[dict[str, Any]] | None = None, **kwargs: Any) -> Any:
    return services.create_version(
        principal,
        site="oslo",
        study=STUDY,
        table=text_table(rows or ROWS),
        dictionary=dictionary(),
        **kwargs,
    )


def test_the_data_manager_creates_numbered_versions(
    first: services.VersionInfo, manager: Principal
) -> None:
    assert (first.site, first.study, first.number) == ("oslo", STUDY, 1)
    assert (first.rows, first.columns) == (3, 9)
    assert first.column_names[:3] == ("subject_id", "timepoint", "site")
    assert (first.dictionary_version, first.import_id) == (3, 12)
    assert first.source == "import 12: visit1.csv" and first.reason == "accepted with 1 warning"
    assert first.created_by == "dm1" and len(first.checksum) == 64 and first.size > 0

    row = DatasetVersion.objects.get()
    assert row.blob.purpose == "dataset" and row.checksum == row.blob.checksum
    assert row.blob.area_key.area == "sites/oslo/data"
    assert [e.details["version"] for e in entries("datasets.create")] == [1]
    [entry] = entries("datasets.create")
    assert entry.actor == "dm1" and entry.target == "sites/oslo/data/study"
    assert entry.reason == "accepted with 1 warning" and entry.details["import"] == 12

    second = create(manager, ROWS[:2], source="correction")
    assert second.number == 2 and second.rows == 2 and second.import_id is None
    assert [v.number for v in services.log(manager, "oslo", STUDY)] == [2, 1]
    assert services.version_info(manager, "oslo", STUDY).number == 2
    assert services.version_info(manager, "oslo", STUDY, 1) == first
    assert Dataset.objects.count() == 1


def test_the_stored_file_is_typed_sorted_parquet_with_its_table_schema(
    first: services.VersionInfo, manager: Principal
) -> None:
    table = services.read_version(manager, "oslo", STUDY, 1)
    assert table.num_rows == 3 and table["mmse"].type == pa.int64()
    assert table["subject_id"].to_pylist() == ["OSL-0001", "OSL-0001", "OSL-0002"]
    schema = stored.schema_of(table)
    assert [f["name"] for f in schema["fields"]] == list(first.column_names)
    mmse = next(f for f in schema["fields"] if f["name"] == "mmse")
    assert mmse["type"] == "integer" and mmse["missingValues"] == ["-99"]
    assert schema["missingValues"] == ["", "NA"]
    assert schema["cohortvault"]["dictionaryVersion"] == 3
    assert schema["primaryKey"] == ["subject_id", "timepoint"]

    parquet = services.export(manager, "oslo", STUDY, 1, format="parquet")
    content = b"".join(parquet.chunks)
    assert parquet.size == len(content) and parquet.filename == "oslo-study-v1.parquet"
    metadata = pq.ParquetFile(io.BytesIO(content)).metadata
    assert metadata.row_group(0).column(0).compression == "ZSTD"
    assert pq.read_table(io.BytesIO(content)).equals(table)


def test_site_members_read_their_own_site_only(
    first: services.VersionInfo, member: Principal, other_site: Site
) -> None:
    assert [d.study for d in services.datasets(member)] == [STUDY]
    assert services.read_version(member, "oslo", STUDY, 1).num_rows == 3
    berliner = member_of(other_site, "berlin1")
    assert services.datasets(berliner) == []
    for call in (
        lambda: services.log(berliner, "oslo", STUDY),
        lambda: services.version_info(berliner, "oslo", STUDY),
        lambda: services.read_version(berliner, "oslo", STUDY, 1),
        lambda: services.export(berliner, "oslo", STUDY, 1),
        lambda: services.diff(berliner, "oslo", STUDY, 1, 1),
        lambda: services.preview(berliner, "oslo", STUDY, 1),
    ):
        with pytest.raises(NotFound):
            call()
    denied = entries("access.read", outcome="denied")
    assert len(denied) == 6 and {e.actor for e in denied} == {"berlin1"}
    assert {e.target for e in denied} == {"sites/oslo/data/study"}


def test_only_the_data_manager_creates_versions(site: Site, member: Principal, user: User) -> None:
    with pytest.raises(PermissionDenied):
        create(member)
    with pytest.raises(NotFound):  # may not even read the site's data
        create(factories.principal(user))
    assert not DatasetVersion.objects.exists() and not Blob.objects.exists()
    assert stored_blobs() == set()
    refusals = [(e.actor, e.outcome, e.target) for e in entries("access.write")]
    assert refusals == [
        ("oslo1", "denied", "sites/oslo/data/study"),
        ("plain", "denied", "sites/oslo/data/study"),
    ]


def test_reads_are_audited(first: services.VersionInfo, member: Principal) -> None:
    services.datasets(member)
    services.log(member, "oslo", STUDY)
    services.version_info(member, "oslo", STUDY, 1)
    services.read_version(member, "oslo", STUDY, 1)
    services.preview(member, "oslo", STUDY, 1)
    b"".join(services.export(member, "oslo", STUDY, 1).chunks)
    services.diff(member, "oslo", STUDY, 1, 1)
    actions = [
        e.action
        for e in AuditEntry.objects.filter(actor="oslo1", action__startswith="datasets.").order_by(
            "seq"
        )
    ]
    assert actions == [
        "datasets.list",
        "datasets.log",
        "datasets.info",
        "datasets.read",
        "datasets.preview",
        "datasets.export",
        "datasets.diff",
    ]


def test_missing_things_are_not_found(site: Site, manager: Principal) -> None:
    with pytest.raises(NotFound, match="no versions yet"):
        services.version_info(manager, "oslo", STUDY)
    assert services.log(manager, "oslo", STUDY) == []
    with pytest.raises(NotFound, match="no study"):
        services.log(manager, "oslo", "nosuch")
    with pytest.raises(NotFound):
        services.log(manager, "nowhere", STUDY)
    create(manager)
    with pytest.raises(NotFound, match="no version 7"):
        services.read_version(manager, "oslo", STUDY, 7)
    with pytest.raises(Invalid):
        services.export(manager, "oslo", STUDY, 1, format="xlsx")


def test_a_failed_blob_write_leaves_nothing(
    site: Site, manager: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("disk on fire")

    monkeypatch.setattr("cohortvault.files.services.store_blob", broken)
    with pytest.raises(OSError, match="disk on fire"):
        create(manager)
    assert not DatasetVersion.objects.exists() and not Blob.objects.exists()
    assert stored_blobs() == set()


def test_a_failed_row_removes_the_stored_blob(
    site: Site, manager: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = DatasetVersion.objects.create

    def broken(**kwargs: Any) -> Any:
        original(**kwargs)
        raise DatabaseError("connection lost")

    monkeypatch.setattr(DatasetVersion.objects, "create", broken)
    with pytest.raises(DatabaseError):
        create(manager)
    assert not DatasetVersion.objects.exists() and not Blob.objects.exists()
    assert not Dataset.objects.exists() and stored_blobs() == set()
    assert not entries("datasets.create")


def test_invalid_content_stores_nothing_and_is_audited(site: Site, manager: Principal) -> None:
    bad = [{**ROWS[0], "mmse": "twelve"}]
    with pytest.raises(Invalid) as refused:
        create(manager, bad, import_id=5)
    assert refused.value.details[0]["column"] == "mmse"
    assert not Blob.objects.exists() and stored_blobs() == set()
    [entry] = entries("datasets.create")
    assert entry.outcome == "failed" and entry.details == {"import": 5, "problems": 1}
    assert "twelve" not in str(entry.details) + entry.reason


def test_create_inside_the_callers_transaction(site: Site, manager: Principal) -> None:
    with transaction.atomic():
        created = create(manager)
        assert DatasetVersion.objects.filter(number=created.number).exists()
    assert DatasetVersion.objects.count() == 1

    class Abandon(Exception):
        pass

    with pytest.raises(Abandon), transaction.atomic():
        create(manager)
        raise Abandon
    assert DatasetVersion.objects.count() == 1  # the second is gone with the caller's rollback


def test_versions_are_immutable(first: services.VersionInfo) -> None:
    row = DatasetVersion.objects.get()
    row.reason = "rewritten"
    with pytest.raises(Conflict):
        row.save()
    with pytest.raises(Conflict):
        row.delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        DatasetVersion.objects.filter(pk=row.pk).update(reason="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE datasets_datasetversion SET number = 5")
    assert DatasetVersion.objects.get().reason == "accepted with 1 warning"


@pytest.mark.postgres
def test_postgres_refuses_deleting_versions(first: services.VersionInfo) -> None:
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM datasets_datasetversion")
    assert DatasetVersion.objects.count() == 1


def test_subjects_of_the_latest_version(site: Site, manager: Principal) -> None:
    assert services.subjects("oslo", STUDY) == set()
    assert services.subjects("oslo", "nosuch") == set()
    create(manager)
    assert services.subjects("oslo", STUDY) == {"OSL-0001", "OSL-0002"}
    create(manager, ROWS[:1])
    assert services.subjects("oslo", STUDY) == {"OSL-0002"}


def test_csv_export_is_spreadsheet_safe(first: services.VersionInfo, member: Principal) -> None:
    export = services.export(member, "oslo", STUDY, 1)
    assert export.filename == "oslo-study-v1.csv" and export.media_type.startswith("text/csv")
    lines = list(csv.reader(io.StringIO(b"".join(export.chunks).decode("utf-8"))))
    assert lines[0] == list(first.column_names)
    by_subject = {(line[0], line[1]): dict(zip(lines[0], line, strict=True)) for line in lines[1:]}
    formula = by_subject[("OSL-0002", "wave1")]
    assert formula["comment"] == "'=HYPERLINK(1)"
    assert formula["smoker"] == "false" and formula["visit_date"] == "2021-03-04"
    assert formula["bmi"] == "23.5" and formula["mmse"] == "27"
    negative = by_subject[("OSL-0001", "wave1")]
    assert negative["comment"] == "-5"  # a plain number is not a formula
    assert negative["mmse"] == "" and negative["bmi"] == "-88"
    assert by_subject[("OSL-0001", "wave2")]["mmse"] == "-99"


def test_preview_shows_columns_and_first_rows(
    first: services.VersionInfo, member: Principal
) -> None:
    shown = services.preview(member, "oslo", STUDY, 1, rows=2)
    assert shown.info == first and len(shown.rows) == 2
    assert shown.rows[0]["subject_id"] == "OSL-0001"
    mmse = next(f for f in shown.fields if f["name"] == "mmse")
    assert mmse["type"] == "integer" and mmse["stored_as"] == "int64"


def test_long_source_or_reason_is_refused(site: Site, manager: Principal) -> None:
    with pytest.raises(Invalid, match="source"):
        create(manager, source="x" * 501)
    assert not Blob.objects.exists()


def test_an_empty_table_is_a_version_too(site: Site, manager: Principal) -> None:
    empty = text_table(ROWS).slice(0, 0)
    created = services.create_version(
        manager, site="oslo", study=STUDY, table=empty, dictionary=dictionary()
    )
    assert created.rows == 0 and created.columns == 9
    shown = services.preview(manager, "oslo", STUDY, 1)
    assert shown.rows == [] and len(shown.fields) == 9
    assert b"".join(services.export(manager, "oslo", STUDY, 1).chunks).startswith(b'"subject_id"')
    create(manager)
    assert services.diff(manager, "oslo", STUDY, 1, 2).totals["rows_added"] == 3
    assert services.subjects("oslo", STUDY) == {"OSL-0001", "OSL-0002"}
