"""Tickets: anyone reports; the reporter, the site's members and data managers see and follow
them; data managers alone move them through their states; everything is in the history, the
notifications and the audit trail."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from typing import Any

import pytest

from cohortvault.access.policy import Principal, Role, Scope
from cohortvault.audit.models import AuditEntry
from cohortvault.catalog import services as catalog
from cohortvault.consortium.models import Site
from cohortvault.errors import Conflict, Invalid, NotFound, PermissionDenied
from cohortvault.governance.models import Notification
from cohortvault.identity.models import User
from cohortvault.storage.maintenance import collect_garbage, verify_blobs
from cohortvault.tickets import services
from tests import factories
from tests.imports.conftest import SCHEMA

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(site: Site, other_site: Site, data_manager: User) -> dict[str, Any]:
    made: dict[str, Any] = {"manager_user": data_manager}
    for name, role, scope in (
        ("reporter", Role.PROJECT_MEMBER, {"project": factories.make_project("alpha")}),
        ("oslo_member", Role.SITE_MEMBER, {"site": site}),
        ("berlin_member", Role.SITE_MEMBER, {"site": other_site}),
    ):
        user = factories.make_user(name)
        factories.enrol_totp(user)
        factories.grant(user, role, **scope)
        made[f"{name}_user"] = user
    return {k.removesuffix("_user"): factories.principal(v) for k, v in made.items()} | made


def _report(who: Principal, **changes: Any) -> services.TicketInfo:
    fields: dict[str, Any] = {
        "site": "oslo",
        "study": "study",
        "variables": ["mmse"],
        "title": "Implausible MMSE",
        "description": "Two subjects score 30 at wave1 and 12 at wave2.",
        "timepoint": "wave2",
    }
    return services.report(who, **(fields | changes))


def test_reporting_and_who_sees_it(people: dict[str, Any]) -> None:
    made = _report(people["reporter"])
    assert made.state == "open" and [e.kind for e in made.events] == ["reported"]
    for viewer in ("reporter", "oslo_member", "manager"):
        assert services.get(people[viewer], made.number).number == made.number
        assert [t.number for t in services.list_tickets(people[viewer])] == [made.number]
    with pytest.raises(NotFound):
        services.get(people["berlin_member"], made.number)
    assert services.list_tickets(people["berlin_member"]) == []
    assert AuditEntry.objects.filter(action="access.read", outcome="denied").exists()
    site_told = Notification.objects.filter(user=people["oslo_member_user"]).get()
    assert "Ticket" in site_told.text and "Implausible" not in site_told.text
    assert not Notification.objects.filter(user=people["berlin_member_user"]).exists()
    assert AuditEntry.objects.filter(action="tickets.report", target=f"ticket {made.number}")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"study": "nope"}, "has no study"),
        ({"variables": ["no_such_variable"]}, "not in the data dictionary"),
        ({"variables": []}, "at least one variable"),
        ({"title": "  "}, "title is required"),
        ({"timepoint": "wave9"}, "no timepoint"),
        ({"description": "x" * 10_001}, "longer than"),
    ],
)
def test_bad_reports_are_refused(
    people: dict[str, Any], change: dict[str, Any], message: str
) -> None:
    catalog.import_dictionary(people["manager"], json.dumps(SCHEMA).encode(), format="json")
    with pytest.raises(Invalid) as refused:
        _report(people["reporter"], **change)
    assert message in refused.value.message + " ".join(map(str, refused.value.details))
    assert not services.list_tickets(people["manager"])


def test_control_characters_are_dropped_from_texts(people: dict[str, Any]) -> None:
    made = _report(people["reporter"], title="Bad\x1b[31m value\x00")
    assert made.title == "Bad[31m value"


def test_states_are_the_data_managers(people: dict[str, Any]) -> None:
    made = _report(people["reporter"])
    for who in ("reporter", "oslo_member"):
        with pytest.raises(PermissionDenied):
            services.change_state(people[who], made.number, "triaged")
    triaged = services.change_state(people["manager"], made.number, "triaged")
    assert (triaged.state, triaged.events[-1].old_state, triaged.events[-1].new_state) == (
        "triaged",
        "open",
        "triaged",
    )
    with pytest.raises(Conflict):
        services.change_state(people["manager"], made.number, "triaged")
    with pytest.raises(Invalid):
        services.change_state(people["manager"], made.number, "wont_fix")  # needs a reason
    refused = services.change_state(
        people["manager"], made.number, "wont_fix", reason="Both scores are right."
    )
    assert refused.closed and refused.resolved_at is None
    reopened = services.change_state(people["manager"], made.number, "open")
    assert not reopened.closed
    told = Notification.objects.filter(user=people["reporter_user"]).values_list("text", flat=True)
    assert f"Ticket {made.number} is now will not fix." in told
    assert AuditEntry.objects.filter(action="tickets.state").count() == 3


def test_duplicates_name_another_visible_ticket(people: dict[str, Any]) -> None:
    first, second = _report(people["reporter"]), _report(people["oslo_member"])
    with pytest.raises(Invalid):
        services.change_state(people["manager"], second.number, "duplicate")
    with pytest.raises(NotFound):
        services.change_state(people["manager"], second.number, "duplicate", duplicate_of=999)
    done = services.change_state(
        people["manager"], second.number, "duplicate", duplicate_of=first.number
    )
    assert done.duplicate_of == first.number and done.closed


def test_comments_and_who_hears_of_them(people: dict[str, Any]) -> None:
    made = _report(people["reporter"])
    services.comment(people["oslo_member"], made.number, "Checked the forms: 12 is right.")
    with pytest.raises(NotFound):
        services.comment(people["berlin_member"], made.number, "me too")
    with pytest.raises(Invalid):
        services.comment(people["reporter"], made.number, "   ")
    services.comment(people["reporter"], made.number, "Thanks.")
    shown = services.get(people["manager"], made.number)
    assert [(e.kind, e.actor) for e in shown.events[1:]] == [
        ("comment", "oslo_member"),
        ("comment", "reporter"),
    ]
    heard = Notification.objects.filter(user=people["oslo_member_user"], text__contains="commented")
    assert heard.count() == 1  # the reporter's comment, not their own


def test_attachments_are_encrypted_and_readable_only_by_the_tickets_readers(
    people: dict[str, Any], settings: Any
) -> None:
    made = _report(people["reporter"])
    content = b"scan of the paper form" * 100
    added = services.attach(
        people["reporter"],
        made.number,
        name="../../form.pdf",
        source=io.BytesIO(content),
        size=len(content),
        content_type="application/pdf",
    )
    assert (added.name, added.size, added.content_type) == (
        "form.pdf",
        len(content),
        "application/pdf",
    )
    got = services.attachment(people["oslo_member"], made.number, added.id)
    assert b"".join(got.chunks) == content
    with pytest.raises(NotFound):
        services.attachment(people["berlin_member"], made.number, added.id)
    stored = list((settings.DATA_DIR / "blobs").rglob("*"))
    assert stored and all(content[:20] not in p.read_bytes() for p in stored if p.is_file())
    collect_garbage()
    assert b"".join(services.attachment(people["manager"], made.number, added.id).chunks) == content
    assert list(verify_blobs()) == []


def test_oversized_attachments_leave_nothing(people: dict[str, Any]) -> None:
    made = _report(people["reporter"])
    big = io.BytesIO(b"x" * (services.MAX_ATTACHMENT_SIZE + 1))
    with pytest.raises(Invalid):
        services.attach(people["reporter"], made.number, name="big.bin", source=big, size=None)
    assert services.get(people["reporter"], made.number).attachments == []


def test_tokens_narrow_what_tickets_allow(people: dict[str, Any]) -> None:
    made = _report(people["reporter"])
    read_only = replace(people["oslo_member"], scope=Scope.READ_ONLY)
    assert services.get(read_only, made.number).number == made.number
    with pytest.raises(PermissionDenied):
        services.comment(read_only, made.number, "hello")
    for scope in (Scope.PROJECT, Scope.AGGREGATE):
        narrowed = replace(people["manager"], scope=scope, scope_project="alpha")
        with pytest.raises(NotFound):
            services.get(narrowed, made.number)
