"""The whole loop through the REST API: import → accept → project delivery → ticket →
correction (cell edits, or a corrected file) → the project's members told → corrected
delivery whose diff shows exactly the corrected cells → error log without identifiers; and
the refusals on the way."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.test import Client

from cohortvault.access.policy import Role
from cohortvault.consortium.models import Site
from cohortvault.corrections.services.errorlog import COLUMNS
from cohortvault.identity import tokens
from cohortvault.identity.models import User
from tests import factories
from tests.deliveries.conftest import CODE, World

pytestmark = pytest.mark.django_db
API = "/api/v1"
WAVE1 = (
    "subject_id,timepoint,site,sex,mmse,hippocampus_ml\n"
    "OSL-0001,wave1,oslo,F,29,3.1\n"
    "OSL-0002,wave1,oslo,M,25,3.1\n"
    "OSL-0003,wave1,oslo,F,27,3.3\n"
)


def bearer(user: User) -> Client:
    secret = tokens.create_token(user, name="script", scope="full").token
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(f"{API}{url}", body, content_type="application/json")


@pytest.fixture
def people(world: World, site: Site, data_manager: User, settings: Any) -> dict[str, Any]:
    settings.COHORTVAULT_QUALITY_CHECK_INTERVAL = 0  # checked in the storing request
    oslo = factories.make_user("oslo-uploader")
    factories.grant(oslo, Role.SITE_MEMBER, site=site)
    berlin = factories.make_user("berlin-member")
    factories.grant(berlin, Role.SITE_MEMBER, site=Site.objects.get(code="berlin"))
    world.sign("oslo", "berlin")
    return {
        "manager": bearer(data_manager),
        "uploader": bearer(oslo),
        "member": bearer(world.member_user),
        "berlin": bearer(berlin),
    }


def _import_and_deliver(people: dict[str, Any], capture: Any) -> int:
    with capture(execute=True):
        stored = people["uploader"].put(
            f"{API}/files/sites/oslo/import/study/wave1.csv", WAVE1, content_type="text/csv"
        )
    assert stored.status_code == 201, stored.content
    [pending] = people["manager"].get(f"{API}/imports", {"state": "pending"}).json()
    assert pending["acceptable"], pending
    accepted = post(
        people["manager"], f"/imports/{pending['id']}/accept", {"reason": "New subject."}
    )
    assert accepted.json().get("dataset_version") == 2, accepted.content
    first = post(people["manager"], f"/projects/{CODE}/deliveries", {"note": "first"})
    assert first.status_code == 201 and first.json()["number"] == 1
    ticket = post(
        people["member"],
        "/tickets",
        {
            "site": "oslo",
            "study": "study",
            "variables": ["mmse"],
            "subject_id": "OSL-0003",
            "timepoint": "wave1",
            "title": "MMSE 27 for OSL-0003 should be 23",
            "description": "Seen in delivery 001.",
            "found_in": f"delivery {CODE}/001",
        },
    )
    assert ticket.status_code == 201, ticket.content
    number: int = ticket.json()["number"]
    assert people["berlin"].get(f"{API}/tickets/{number}").status_code == 404
    assert people["berlin"].get(f"{API}/tickets").json() == []
    assert people["uploader"].get(f"{API}/tickets/{number}").json()["state"] == "open"
    return number


def _redelivered(people: dict[str, Any], correction: dict[str, Any], number: int) -> None:
    """The members were told, the corrected delivery carries exactly the corrected cell, and
    the error log names the ticket and nobody."""
    told = people["member"].get(f"{API}/notifications").json()
    assert any("corrected 1 value(s) of mmse" in n["text"] for n in told)
    assert [a["pending"] for a in correction["affected"]] == [True]
    made = post(people["manager"], f"/corrections/{correction['id']}/redeliver", {})
    assert made.status_code == 200, made.content
    assert [d["number"] for d in made.json()] == [2]
    diff = people["member"].get(f"{API}/projects/{CODE}/deliveries/diff", {"old": 1, "new": 2})
    assert diff.json()["changes"] == [
        {"subject_id": "OSL-0003", "timepoint": "wave1", "column": "mmse", "old": "27", "new": "23"}
    ]
    assert diff.json()["totals"]["rows_added"] == diff.json()["totals"]["rows_removed"] == 0
    log = people["berlin"].get(f"{API}/error-log").json()
    assert [(r["ticket"], r["values_corrected"], r["projects_redelivered"]) for r in log] == [
        (number, 1, [f"{CODE} (002)"])
    ]
    download = people["berlin"].get(f"{API}/files/logs/error-log/error-log.csv")
    published = b"".join(download.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(published)))
    assert rows[0]["ticket"] == str(number) and rows[0]["variables"] == "mmse"
    assert list(rows[0]) == list(COLUMNS)  # no column for a value or a subject
    cells = {c for row in rows for c in row.values()} | {
        str(v) for line in log for v in line.values() if not isinstance(v, list)
    }
    assert not cells & {"27", "23", "OSL-0003", "wave1"}
    assert "OSL-" not in json.dumps(log) + published
    ticket = people["member"].get(f"{API}/tickets/{number}").json()
    assert ticket["state"] == "resolved"
    assert [e["kind"] for e in ticket["events"]] == ["reported", "correction", "redelivery"]


def test_the_loop_with_cell_edits(
    people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    number = _import_and_deliver(people, django_capture_on_commit_callbacks)
    edit = {"subject_id": "OSL-0003", "timepoint": "wave1", "variable": "mmse", "value": "23"}
    body = {"edits": [edit], "reason": "Transcription error; paper form says 23."}
    for outsider in ("member", "uploader"):
        refused = post(people[outsider], f"/tickets/{number}/corrections/cells", body)
        assert refused.status_code == 403, outsider
    bad = post(
        people["manager"],
        f"/tickets/{number}/corrections/cells",
        {"edits": [edit | {"value": "45"}], "reason": "x"},
    )
    assert bad.status_code == 422 and bad.json()["error"]["details"]
    made = post(people["manager"], f"/tickets/{number}/corrections/cells", body)
    assert made.status_code == 201, made.content
    correction = made.json()
    assert (correction["cells"], correction["new_version"], correction["ticket"]) == (1, 3, number)
    changes = people["uploader"].get(f"{API}/corrections/{correction['id']}/changes").json()
    assert changes["changes"][0]["old"] == "27" and changes["changes"][0]["new"] == "23"
    assert people["berlin"].get(f"{API}/corrections/{correction['id']}").status_code == 404
    _redelivered(people, correction, number)


def test_the_loop_with_a_corrected_file(
    people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    number = _import_and_deliver(people, django_capture_on_commit_callbacks)
    fixed = "subject_id,timepoint,site,mmse\nOSL-0003,wave1,oslo,23\n"
    url = f"{API}/tickets/{number}/corrections/file"
    query = "?name=wave1-fixed.csv&reason=Re-scored"
    refused = people["uploader"].put(url + query, fixed, content_type="text/csv")
    assert refused.status_code == 403
    made = people["manager"].put(url + query, fixed, content_type="text/csv")
    assert made.status_code == 201, made.content
    correction = made.json()
    assert correction["kind"] == "file" and correction["import_id"] is not None
    _redelivered(people, correction, number)
