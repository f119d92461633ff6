"""The two-stage import through the service functions: registration on upload, the report,
the lock on personal data, acceptance into dataset versions, rejection, and the refusals."""

from __future__ import annotations

import io
from typing import Any

import pytest

from cohortvault import quality
from cohortvault.access.policy import Principal, Role
from cohortvault.audit.models import AuditEntry
from cohortvault.consortium.models import Study, Timepoint
from cohortvault.datasets import services as datasets
from cohortvault.errors import Conflict, Invalid, NotFound, PermissionDenied
from cohortvault.files import services as files
from cohortvault.governance.models import Notification
from cohortvault.identity.models import User
from cohortvault.imports import services
from cohortvault.imports.models import Import
from tests import factories
from tests.imports.conftest import CLEAN, Upload

pytestmark = pytest.mark.django_db

WAVE2 = (
    "subject_id,timepoint,site,sex,mmse,hippocampus_ml\n"
    "OSL-0001,wave2,oslo,F,28,3.3\n"
    "OSL-0002,wave2,oslo,M,25,3.0\n"
)


def _checks(row: Import) -> set[str]:
    return {f.check for f in quality.Report.from_json(row.report).findings}


def test_a_clean_file_is_checked_at_once_and_accepted_as_version_one(
    upload: Upload, manager: Principal, member: Principal, site_member: User
) -> None:
    row = upload(CLEAN)
    assert row.state == Import.State.CHECKED
    assert (row.errors, row.personal_data, row.study.code if row.study else "") == (
        0,
        False,
        "study",
    )
    info = services.accept(manager, row.pk, reason="missing optional columns are expected")
    assert info.state == "accepted" and info.dataset_version == 1
    table = datasets.read_version(member, "oslo", "study", 1)
    assert table.num_rows == 3
    assert sorted(table.column("subject_id").to_pylist()) == ["OSL-0001", "OSL-0002", "OSL-0003"]
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"imports.register", "imports.check", "imports.accept"} <= actions
    texts = list(Notification.objects.filter(user=site_member).values_list("text", flat=True))
    assert any("accepted as version 1" in text for text in texts)


def test_a_second_import_merges_into_the_next_version(
    upload: Upload, manager: Principal, member: Principal
) -> None:
    services.accept(manager, upload(CLEAN).pk, reason="fine")
    services.accept(manager, upload(WAVE2, "study/wave2.csv").pk, reason="fine")
    table = datasets.read_version(member, "oslo", "study", 2)
    assert table.num_rows == 5
    changed = CLEAN.replace("OSL-0003,wave1,oslo,F,27", "OSL-0003,wave1,oslo,F,26")
    services.accept(manager, upload(changed).pk, reason="corrected score")
    diff = datasets.diff(member, "oslo", "study", 2, 3)
    assert (diff.totals["cells_changed"], diff.totals["rows_added"]) == (1, 0)
    assert diff.totals["rows_removed"] == 0
    assert diff.changes.to_pylist() == [
        {"subject_id": "OSL-0003", "timepoint": "wave1", "column": "mmse", "old": "27", "new": "26"}
    ]


def test_errors_block_acceptance_and_leave_the_dataset_untouched(
    upload: Upload, manager: Principal, member: Principal
) -> None:
    services.accept(manager, upload(CLEAN).pk, reason="fine")
    bad = CLEAN.replace(",29,", ",31,")
    row = upload(bad)
    assert row.errors == 1 and "range" in _checks(row)
    with pytest.raises(Conflict):
        services.accept(manager, row.pk, reason="please")
    assert [v.number for v in datasets.log(member, "oslo", "study")] == [1]
    assert Import.objects.get(pk=row.pk).state == Import.State.CHECKED


def test_warnings_need_a_reason(upload: Upload, manager: Principal) -> None:
    clean = "subject_id,timepoint,site,mmse\nOSL-0001,wave1,oslo,29\n"
    row = upload(clean)
    assert (row.errors, row.warnings) == (0, 1)  # sex and hippocampus_ml have no column
    with pytest.raises(Invalid, match="reason"):
        services.accept(manager, row.pk)
    assert services.accept(manager, row.pk, reason="ok").state == "accepted"


def test_rejection_needs_a_reason_and_tells_the_uploader(
    upload: Upload, manager: Principal, site_member: User
) -> None:
    row = upload(CLEAN.replace(",29,", ",31,"))
    with pytest.raises(Invalid):
        services.reject(manager, row.pk, reason="  ")
    info = services.reject(manager, row.pk, reason="MMSE above 30 in row 2")
    assert info.state == "rejected" and info.reason == "MMSE above 30 in row 2"
    assert Notification.objects.filter(user=site_member, text__contains="row 2").exists()
    with pytest.raises(Conflict):
        services.accept(manager, row.pk, reason="changed my mind")


def test_only_the_data_manager_decides_and_refusals_are_audited(
    upload: Upload, member: Principal, dpo: User, administrator: User
) -> None:
    row = upload(CLEAN)
    for someone in (member, factories.principal(dpo), factories.principal(administrator)):
        with pytest.raises((PermissionDenied, NotFound)):
            services.accept(someone, row.pk, reason="me")
        with pytest.raises((PermissionDenied, NotFound)):
            services.reject(someone, row.pk, reason="me")
    denied = AuditEntry.objects.filter(action="access.approve", outcome="denied").count()
    assert denied == 6
    assert Import.objects.get(pk=row.pk).state == Import.State.CHECKED


def test_other_sites_do_not_see_imports(upload: Upload, other_site: Any) -> None:
    row = upload(CLEAN)
    berliner = factories.make_user("berlin1")
    factories.grant(berliner, Role.SITE_MEMBER, site=other_site)
    outsider = factories.principal(berliner)
    with pytest.raises(NotFound):
        services.get(outsider, row.pk)
    assert services.list_imports(outsider) == []


def test_personal_data_locks_the_file_to_uploader_and_data_manager(
    upload: Upload, member: Principal, manager: Principal, colleague: User
) -> None:
    content = CLEAN.replace("hippocampus_ml", "email").replace(",3.4", ",kari@example.org")
    row = upload(content)
    assert row.personal_data and row.errors >= 1
    path = "sites/oslo/import/study/visit.csv"
    other = factories.principal(colleague)
    for attempt in (
        lambda: files.stat(other, path),
        lambda: files.read_file(other, path),
        lambda: files.versions(other, path),
        lambda: files.write_file(other, path, io.BytesIO(b"x")),
        lambda: services.get(other, row.pk),
        lambda: services.report(other, row.pk),
    ):
        with pytest.raises(NotFound):
            attempt()
    assert "visit.csv" not in [
        e.name for e in files.list_folder(other, "sites/oslo/import/study").entries
    ]
    assert services.list_imports(other) == []
    assert files.stat(member, path).name == "visit.csv"
    assert files.stat(manager, path).name == "visit.csv"
    assert services.get(manager, row.pk).personal_data
    # still locked after deletion: not among the colleague's recently deleted files
    files.delete(member, path)
    deleted = [e.name for e in files.recently_deleted(other, "sites/oslo/import/study")]
    assert "visit.csv" not in deleted
    with pytest.raises(NotFound):
        files.restore(other, path)
    assert AuditEntry.objects.filter(action="files.lock", target=path).count() == 1


def test_the_report_is_masked_and_names_the_detectors(upload: Upload, member: Principal) -> None:
    content = CLEAN.replace("hippocampus_ml", "note").replace(",3.4", ",kari.nordmann@example.org")
    row = upload(content)
    report = services.report(member, row.pk)
    assert report is not None
    personal = [f for f in report.findings if f.personal_data]
    assert personal and all("kari.nordmann@example.org" not in f.example for f in personal)
    assert "kari.nordmann@example.org" not in report.to_csv()


def test_a_file_outside_any_study_folder_is_an_error(
    upload: Upload, site: Any, manager: Principal
) -> None:
    study = Study.objects.create(site=site, code="second", name="Second")
    Timepoint.objects.create(study=study, code="wave1", label="Wave 1", order=1)
    row = upload(CLEAN, "loose.csv")
    assert row.study is None and "import.study" in _checks(row)
    with pytest.raises(Conflict):
        services.accept(manager, row.pk, reason="x")
    named = upload(CLEAN, "second/visit.csv")
    assert named.study is not None and named.study.code == "second"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.csv", b""),
        ("garbage.xlsx", b"PK\x03\x04 not really a workbook"),
        ("truncated.sav", b"$FL2@(#) SPSS DATA FILE"),
        ("latin1.csv", "subject_id;timepoint;site;sex\nØSL-1;wave1;oslo;F\n".encode("latin-1")),
        ("ragged.csv", b"subject_id,timepoint,site\nOSL-0001,wave1\nOSL-0002,wave1,oslo,x,y\n"),
    ],
)
def test_malformed_files_give_a_report_never_an_exception(
    upload: Upload, manager: Principal, member: Principal, name: str, content: bytes
) -> None:
    row = upload(content, f"study/{name}")
    assert row.state == Import.State.CHECKED and row.errors >= 1
    assert services.report(member, row.pk) is not None
    with pytest.raises(Conflict):
        services.accept(manager, row.pk, reason="x")
    with pytest.raises(NotFound):
        datasets.version_info(member, "oslo", "study")


def test_other_files_in_the_import_area_are_not_imports(upload: Upload, member: Principal) -> None:
    before = Import.objects.count()
    files.write_file(member, "sites/oslo/import/study/protocol.pdf", io.BytesIO(b"%PDF-1.4"))
    files.write_file(member, f"home/{member.username}/data.csv", io.BytesIO(CLEAN.encode()))
    assert Import.objects.count() == before


def test_a_failed_acceptance_leaves_no_version(
    upload: Upload, manager: Principal, member: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    services.accept(manager, upload(CLEAN).pk, reason="fine")
    row = upload(WAVE2, "study/wave2.csv")

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(datasets, "create_version", broken)
    with pytest.raises(OSError):
        services.accept(manager, row.pk, reason="fine")
    monkeypatch.undo()
    assert Import.objects.get(pk=row.pk).state == Import.State.CHECKED
    assert [v.number for v in datasets.log(member, "oslo", "study")] == [1]
    assert services.accept(manager, row.pk, reason="fine").dataset_version == 2


def test_the_checker_picks_up_queued_imports(
    settings: Any, dictionary: int, member: Principal, django_capture_on_commit_callbacks: Any
) -> None:
    settings.COHORTVAULT_QUALITY_CHECK_INTERVAL = 2
    with django_capture_on_commit_callbacks(execute=True):
        files.write_file(member, "sites/oslo/import/study/a.csv", io.BytesIO(CLEAN.encode()))
    row = Import.objects.get()
    assert row.state == Import.State.QUEUED and services.report(member, row.pk) is None
    assert services.check_queued() == 1
    assert Import.objects.get().state == Import.State.CHECKED
    assert services.check_queued() == 0


def test_without_a_dictionary_the_report_says_so(
    member: Principal, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        files.write_file(member, "sites/oslo/import/study/a.csv", io.BytesIO(CLEAN.encode()))
    row = Import.objects.get()
    assert row.errors == 1 and "import.failed" in _checks(row)


def test_deleting_the_file_withdraws_its_undecided_import(
    upload: Upload, member: Principal, manager: Principal
) -> None:
    row = upload(CLEAN)
    files.delete(member, "sites/oslo/import/study")
    withdrawn = services.get(manager, row.pk)
    assert withdrawn.state == "withdrawn" and "deleted by oslo1" in withdrawn.reason
    with pytest.raises(Conflict):
        services.accept(manager, row.pk, reason="x")
    assert services.list_imports(manager, state="pending") == []
    decided = upload(CLEAN, "study/again.csv")
    services.accept(manager, decided.pk, reason="x")
    files.delete(member, "sites/oslo/import/study/again.csv")
    assert services.get(manager, decided.pk).state == "accepted"
