"""The audit chain: appends link up, and verify catches every kind of tampering."""

from __future__ import annotations

import itertools

import pytest
from django.db import DatabaseError, connection, transaction

from cohortvault.access.policy import Principal
from cohortvault.audit.models import AuditEntry
from cohortvault.audit.trail import bind, record, verify

pytestmark = pytest.mark.django_db

alice = Principal(user_id=1, username="alice")


def fill(n: int = 5) -> list[AuditEntry]:
    return [
        record(f"test.event{i}", actor=alice, target=f"thing {i}", details={"i": i})
        for i in range(n)
    ]


def tamper(sql: str, params: list[object]) -> None:
    """Change the table the way an attacker with database access would: around the triggers."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")
        else:
            cursor.execute("DROP TRIGGER audit_entry_no_update")
        cursor.execute(sql, params)


def test_entries_chain_and_verify_clean() -> None:
    entries = fill()
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == "0" * 64
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.hash
    result = verify()
    assert result.ok, result.problems
    assert result.entries == 5 and result.last_seq == 5


def test_context_is_recorded() -> None:
    with bind(request_id="req-1", client_ip="192.0.2.7", channel="api"):
        entry = record("test.context", actor=alice)
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert (stored.request_id, stored.client_ip, stored.channel) == ("req-1", "192.0.2.7", "api")
    assert stored.compute_hash() == stored.hash


def test_edited_entry_is_detected() -> None:
    fill()
    tamper("UPDATE audit_auditentry SET target = %s WHERE seq = 3", ["innocent"])
    problems = verify().problems
    assert [(p.seq, p.kind) for p in problems] == [(3, "edited")]


def test_edited_and_rehashed_entry_breaks_the_next_link() -> None:
    fill()
    forged = AuditEntry.objects.get(seq=3)
    forged.target = "innocent"
    tamper(
        "UPDATE audit_auditentry SET target = %s, hash = %s WHERE seq = 3",
        ["innocent", forged.compute_hash()],
    )
    problems = verify().problems
    assert [(p.seq, p.kind) for p in problems] == [(4, "broken link")]


def test_deleted_entry_is_detected() -> None:
    fill()
    tamper("DELETE FROM audit_auditentry WHERE seq = %s", [2])
    kinds = {(p.seq, p.kind) for p in verify().problems}
    assert kinds == {(3, "missing"), (3, "broken link")}


def test_deleted_last_entry_is_detected_by_the_head() -> None:
    fill()
    tamper("DELETE FROM audit_auditentry WHERE seq = %s", [5])
    assert [p.kind for p in verify().problems] == ["truncated"]


def test_reordered_entries_are_detected() -> None:
    fill()
    # swap the positions of entries 2 and 4
    tamper("UPDATE audit_auditentry SET seq = 1000 WHERE seq = 2", [])
    tamper_more = [
        ("UPDATE audit_auditentry SET seq = 2 WHERE seq = 4", []),
        ("UPDATE audit_auditentry SET seq = 4 WHERE seq = 1000", []),
    ]
    with connection.cursor() as cursor:
        for sql, params in tamper_more:
            cursor.execute(sql, params)
    problems = verify().problems
    kinds = {p.kind for p in problems}
    assert "broken link" in kinds and "edited" in kinds
    assert {p.seq for p in problems} >= {2, 4}


def test_trail_refuses_updates() -> None:
    entry = fill(1)[0]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(target="changed")


@pytest.mark.postgres
def test_trail_refuses_deletes_on_postgresql() -> None:
    entry = fill(1)[0]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()


def test_record_rolls_back_with_its_transaction() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        record("test.rolled-back", actor=alice)
        raise RuntimeError("the change failed")
    assert not AuditEntry.objects.filter(action="test.rolled-back").exists()
    record("test.after", actor=alice)
    assert verify().ok


def test_anchors_catch_a_chain_rewritten_from_scratch() -> None:
    entries = fill()
    anchor = {entries[2].seq: entries[2].hash}
    assert verify(anchors=anchor).ok
    # rewrite entry 3 and re-chain everything after it, head included: only the anchor notices
    tamper("UPDATE audit_auditentry SET target = %s WHERE seq = 3", ["innocent"])
    previous = AuditEntry.objects.get(seq=2).hash
    with connection.cursor() as cursor:
        for entry in AuditEntry.objects.filter(seq__gte=3).order_by("seq"):
            entry.prev_hash = previous
            entry.hash = entry.compute_hash()
            cursor.execute(
                "UPDATE audit_auditentry SET prev_hash = %s, hash = %s WHERE seq = %s",
                [entry.prev_hash, entry.hash, entry.seq],
            )
            previous = entry.hash
        cursor.execute("UPDATE audit_audithead SET hash = %s WHERE id = 1", [previous])
    assert verify().ok  # a perfect forgery for anyone without an anchor
    problems = verify(anchors=anchor).problems
    assert [(p.seq, p.kind) for p in problems] == [(3, "anchor mismatch")]
    assert [p.kind for p in verify(anchors={99: "0" * 64}).problems] == ["anchor mismatch"]
