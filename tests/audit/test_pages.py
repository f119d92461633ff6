"""The data protection officer's audit page, CSV download and API; nobody else gets in."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from cohortvault.access.policy import Principal
from cohortvault.audit.models import AuditEntry
from cohortvault.audit.trail import record
from cohortvault.identity.models import User
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail() -> None:
    alice = Principal(user_id=11, username="alice")
    bob = Principal(user_id=12, username="bob")
    record("login.password", actor=alice)
    record("access.read", actor=bob, outcome="denied", target="sites/oslo/data", reason="no rule")
    record("membership.grant", actor=alice, target="user bob")
    record("login.failed", actor=None, actor_name="=cmd|' /C calc'!A0", outcome="failed")


def test_dpo_sees_and_filters_the_trail(dpo: User, trail: None) -> None:
    client = factories.signed_in_client(dpo)
    page = client.get("/audit/")
    assert page.status_code == 200
    assert b"membership.grant" in page.content and b"sites/oslo/data" in page.content
    filtered = client.get("/audit/", {"actor": "bob"})
    assert b"sites/oslo/data" in filtered.content and b"membership.grant" not in filtered.content
    by_action = client.get("/audit/", {"action": "login"})
    assert b"login.password" in by_action.content and b"membership.grant" not in by_action.content
    denied = client.get("/audit/", {"outcome": "denied"})
    assert b"access.read" in denied.content and b"login.password" not in denied.content
    none = client.get("/audit/", {"since": "2001-01-01", "until": "2001-01-02"})
    assert b"membership.grant" not in none.content


def test_reading_the_trail_is_itself_recorded(dpo: User, trail: None) -> None:
    factories.signed_in_client(dpo).get("/audit/", {"actor": "bob"})
    entry = AuditEntry.objects.filter(action="audit.read").latest("seq")
    assert entry.actor == "dpo1" and entry.details["filters"] == {"actor": "bob"}


def test_csv_download_is_complete_and_safe(dpo: User, trail: None) -> None:
    response = factories.signed_in_client(dpo).get("/audit/trail.csv")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="audit-trail-')
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    actions = [row["action"] for row in rows]
    assert {"login.password", "access.read", "membership.grant", "login.failed"} <= set(actions)
    hostile = next(row for row in rows if row["action"] == "login.failed")
    assert hostile["actor"] == "'=cmd|' /C calc'!A0"  # neutralised for spreadsheets


def test_invalid_filter_is_a_clear_error(dpo: User) -> None:
    response = factories.signed_in_client(dpo).get("/audit/", {"since": "not-a-date"})
    assert response.status_code == 422
    assert b"not valid" in response.content


@pytest.mark.parametrize("fixture", ["administrator", "data_manager", "site_member", "user"])
def test_others_are_refused_and_the_refusal_is_audited(
    fixture: str, request: pytest.FixtureRequest, trail: None
) -> None:
    someone: User = request.getfixturevalue(fixture)
    client = factories.signed_in_client(someone)
    response = client.get("/audit/")
    assert response.status_code == 403
    assert b"membership.grant" not in response.content
    assert client.get("/audit/trail.csv").status_code == 403
    assert client.get("/api/v1/audit").status_code == 403
    denied = AuditEntry.objects.filter(
        actor=someone.username, action="access.read", outcome="denied", target="audit_trail"
    )
    assert denied.count() == 3


def test_anonymous_is_sent_to_login(trail: None) -> None:
    assert Client().get("/audit/").url.startswith("/login/")


def test_dpo_reads_the_trail_through_the_api(dpo: User, trail: None) -> None:
    client = factories.signed_in_client(dpo)
    entries = client.get("/api/v1/audit", {"actor": "alice", "limit": 1}).json()
    assert len(entries) == 1 and entries[0]["action"] == "membership.grant"
    assert set(entries[0]) >= {"seq", "at", "actor", "action", "outcome", "target", "hash"}
    bad = client.get("/api/v1/audit", {"since": "yesterday"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid"
