"""Extraction into a project's sealed deliveries folder: blocked by agreements, the data
manager only, files that validate and read back with their types, numbered immutable
deliveries, the diff between two, and the same through the API and the pages."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import frictionless
import pytest
from django.test import Client

from cohortvault.access.policy import Principal, Role
from cohortvault.audit.models import AuditEntry
from cohortvault.deliveries import services
from cohortvault.errors import Conflict, Invalid, NotFound, PermissionDenied
from cohortvault.extraction import ZScore
from cohortvault.files import services as files
from cohortvault.governance.models import Notification
from cohortvault.identity import tokens
from cohortvault.identity.models import User
from cohortvault.projects.models import Proposal
from tests import factories
from tests.deliveries.conftest import CODE, World, new_oslo_version

pytestmark = pytest.mark.django_db
FOLDER = f"projects/{CODE}/deliveries"


def content(who: Principal, path: str) -> bytes:
    return b"".join(files.read_file(who, path).chunks)


def test_extraction_waits_for_every_agreement(world: World) -> None:
    world.sign("oslo")
    with pytest.raises(Conflict) as refused:
        services.run_extraction(world.manager, CODE)
    assert any("berlin" in line for line in refused.value.details)
    failed = AuditEntry.objects.get(action="deliveries.create", outcome="failed")
    assert "agreement" in failed.reason
    with pytest.raises(NotFound):
        files.list_folder(world.member, FOLDER)


def test_only_the_data_manager_extracts(world: World) -> None:
    world.sign("oslo", "berlin")
    for someone in (world.member, world.approver, world.outsider):
        with pytest.raises(PermissionDenied):
            services.run_extraction(someone, CODE)
    assert AuditEntry.objects.filter(action="access.write", outcome="denied").count() == 3


def test_a_delivery_holds_the_granted_data_with_types_and_provenance(
    world: World, tmp_path: Path
) -> None:
    world.sign("oslo", "berlin")
    info = services.run_extraction(world.manager, CODE, note="first")
    assert (info.number, info.rows, info.folder) == (1, 3, f"{FOLDER}/001")
    names = {e.name for e in files.list_folder(world.member, info.folder).entries}
    assert names == {
        "data.csv",
        "data.parquet",
        "datapackage.json",
        "codebook.md",
        "provenance.json",
    }
    rows = list(
        csv.DictReader(io.StringIO(content(world.member, f"{info.folder}/data.csv").decode()))
    )
    assert [(r["site"], r["subject_id"], r["mmse"]) for r in rows] == [
        ("berlin", "BER-0001", "30"),
        ("oslo", "OSL-0001", "29"),
        ("oslo", "OSL-0002", "25"),
    ]
    assert "hippocampus_ml" not in rows[0]  # not granted
    for name in ("data.csv", "datapackage.json"):
        (tmp_path / name).write_bytes(content(world.member, f"{info.folder}/{name}"))
    report = frictionless.validate(tmp_path / "datapackage.json")
    assert report.valid, report.flatten(["type", "note"])
    resource = frictionless.Package(tmp_path / "datapackage.json").resources[0]
    typed = resource.read_rows()
    assert isinstance(typed[0]["mmse"], int)
    provenance = json.loads(content(world.member, f"{info.folder}/provenance.json"))
    assert {(s["site"], s["version"]) for s in provenance["spec"]["sources"]} == {
        ("oslo", 1),
        ("berlin", 1),
    }
    assert provenance["extracted_by"] == "dm1" and provenance["dictionary_version"] == 1
    assert Notification.objects.filter(user=world.member_user, text__contains="001").exists()


def test_deliveries_are_numbered_and_compared(world: World) -> None:
    world.sign("oslo", "berlin")
    services.run_extraction(world.manager, CODE)
    new_oslo_version(world, {"0001": 29, "0002": 24})
    second = services.run_extraction(
        world.manager, CODE, transforms=(ZScore("mmse", "site", "mmse_z"),)
    )
    assert second.number == 2
    assert [d.number for d in services.deliveries(world.member, CODE)] == [2, 1]
    diff = services.diff(world.member, CODE, 1, 2)
    changes = diff.changes.to_pylist()
    mmse = [c for c in changes if c["column"] == "mmse"]
    assert [(c["subject_id"], c["old"], c["new"]) for c in mmse] == [("OSL-0002", "25", "24")]
    assert diff.columns_added == ("mmse_z",)
    assert b"OSL-0002" in diff.to_csv()
    first = csv.DictReader(io.StringIO(content(world.member, f"{FOLDER}/001/data.csv").decode()))
    assert {r["subject_id"]: r["mmse"] for r in first}["OSL-0002"] == "25"  # 001 unchanged


def test_transforms_that_do_not_fit_are_refused_with_nothing_written(world: World) -> None:
    world.sign("oslo", "berlin")
    with pytest.raises(Invalid) as refused:
        services.run_extraction(world.manager, CODE, transforms=(ZScore("sex", "site"),))
    assert refused.value.details
    with pytest.raises(Invalid):
        services.parse_transforms([{"kind": "nonsense"}])
    with pytest.raises(Invalid):
        services.run_extraction(world.manager, CODE, layout="diagonal")
    assert not services.deliveries(world.manager, CODE)


def test_a_delivery_cannot_be_changed_by_anyone(world: World) -> None:
    world.sign("oslo", "berlin")
    info = services.run_extraction(world.manager, CODE)
    for someone in (world.member, world.manager):
        with pytest.raises(PermissionDenied):
            files.write_file(someone, f"{info.folder}/data.csv", io.BytesIO(b"forged"))
        with pytest.raises(PermissionDenied):
            files.delete(someone, info.folder)
    assert b"OSL-0001" in content(world.member, f"{info.folder}/data.csv")


def test_outsiders_see_no_deliveries(world: World) -> None:
    world.sign("oslo", "berlin")
    services.run_extraction(world.manager, CODE)
    with pytest.raises(NotFound):
        services.deliveries(world.outsider, CODE)
    with pytest.raises(NotFound):
        services.delivery(world.outsider, CODE, 1)


def bearer(user: User) -> Client:
    secret = tokens.create_token(user, name="script", scope="full").token
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_the_api_and_the_pages(world: World) -> None:
    world.sign("oslo", "berlin")
    manager_user = factories.make_user("dm-api")
    factories.grant(manager_user, Role.DATA_MANAGER)
    dm = bearer(manager_user)
    member = bearer(world.member_user)
    body = {"layout": "wide", "note": "wide please"}
    refused = member.post(
        f"/api/v1/projects/{CODE}/deliveries", body, content_type="application/json"
    )
    assert refused.status_code == 403
    made = dm.post(f"/api/v1/projects/{CODE}/deliveries", body, content_type="application/json")
    assert made.status_code == 201, made.content
    assert made.json()["rows"] == 3 and made.json()["spec"]["layout"] == "wide"
    listed = member.get(f"/api/v1/projects/{CODE}/deliveries").json()
    assert [d["number"] for d in listed] == [1]
    bad = dm.post(
        f"/api/v1/projects/{CODE}/deliveries",
        {"transforms": [{"kind": "x"}]},
        content_type="application/json",
    )
    assert bad.status_code == 422 and bad.json()["error"]["details"]

    browser = factories.signed_in_client(world.member_user)
    page = browser.get(f"/deliveries/{CODE}/").content.decode()
    assert "001" in page and 'id="extract-form"' not in page
    assert "data.parquet" in browser.get(f"/deliveries/{CODE}/1/").content.decode()
    manager_page = factories.signed_in_client(manager_user).get(f"/deliveries/{CODE}/")
    assert 'id="extract-form"' in manager_page.content.decode()


def test_a_granted_timepoint_without_data_is_refused(world: World) -> None:
    """The grant asks for wave1 and wave2 of the sites' study; neither has wave2 data."""
    Proposal.objects.filter(code=CODE).update(timepoints=["wave1", "wave2"])
    world.sign("oslo", "berlin")
    with pytest.raises(Conflict) as refused:
        services.run_extraction(world.manager, CODE)
    assert "berlin/study has no data at timepoint wave2." in refused.value.details
    assert "oslo/study has no data at timepoint wave2." in refused.value.details
    assert AuditEntry.objects.filter(action="deliveries.create", outcome="failed").exists()
    assert not services.deliveries(world.manager, CODE)
