"""Append to the audit trail and verify its chain.

``record`` must be called inside the transaction of the change it records, so that no change
lands without its entry. It locks the chain head, so appends are serialised on every database.
Who is acting where (request id, client address, front door) comes from ``bind``, which each
front door sets once per request or command.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from cohortvault.access.policy import Principal
from cohortvault.audit.models import GENESIS_HASH, AuditEntry, AuditHead


class Outcome:
    OK = "ok"
    DENIED = "denied"
    FAILED = "failed"


@dataclass(frozen=True)
class Context:
    request_id: str = ""
    client_ip: str = ""
    channel: str = "system"


_NO_CONTEXT = Context()
_context: contextvars.ContextVar[Context | None] = contextvars.ContextVar(
    "cohortvault_audit_context", default=None
)


@contextlib.contextmanager
def bind(*, request_id: str = "", client_ip: str = "", channel: str) -> Iterator[Context]:
    """Attach the request id, client address and front door to entries recorded inside."""
    ctx = Context(request_id=request_id, client_ip=client_ip, channel=channel)
    token = _context.set(ctx)
    try:
        yield ctx
    finally:
        _context.reset(token)


def current_context() -> Context:
    return _context.get() or _NO_CONTEXT


def _printable(value: Any) -> Any:
    """Text the database accepts: NUL (refused by PostgreSQL) written as ``\\x00``."""
    if isinstance(value, str):
        return value.replace("\x00", "\\x00")
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(v) for v in value]
    return value


def record(
    action: str,
    *,
    actor: Principal | None,
    outcome: str = Outcome.OK,
    target: str = "",
    reason: str = "",
    details: dict[str, Any] | None = None,
    actor_name: str = "",
) -> AuditEntry:
    """Append one entry to the chain, in the current transaction.

    ``actor_name`` names an actor that is not (yet) a principal, such as the username typed
    into a failed login.
    """
    ctx = current_context()
    with transaction.atomic():
        head = AuditHead.objects.select_for_update().get(pk=1)
        entry = AuditEntry(
            seq=head.seq + 1,
            at=timezone.now(),
            actor_id=actor.user_id if actor else None,
            actor=_printable((actor.username if actor else "") or actor_name),
            action=action,
            outcome=outcome,
            target=_printable(target[:1024]),
            reason=_printable(reason),
            details=_printable(details or {}),
            request_id=ctx.request_id,
            client_ip=ctx.client_ip,
            channel=ctx.channel,
            prev_hash=head.hash,
        )
        entry.hash = entry.compute_hash()
        entry.save(force_insert=True)
        head.seq, head.hash = entry.seq, entry.hash
        head.save(update_fields=["seq", "hash"])
    return entry


def record_many(entries: list[dict[str, Any]], *, actor: Principal | None) -> None:
    """Append several entries for one actor under one lock of the head (for batches).

    Each item holds ``action`` and optionally ``target``, ``outcome``, ``reason``, ``details``.
    """
    ctx = current_context()
    with transaction.atomic():
        head = AuditHead.objects.select_for_update().get(pk=1)
        seq, previous, now = head.seq, head.hash, timezone.now()
        rows = []
        for item in entries:
            seq += 1
            entry = AuditEntry(
                seq=seq,
                at=now,
                actor_id=actor.user_id if actor else None,
                actor=_printable(actor.username if actor else ""),
                action=item["action"],
                outcome=item.get("outcome", Outcome.OK),
                target=_printable(str(item.get("target", ""))[:1024]),
                reason=_printable(item.get("reason", "")),
                details=_printable(item.get("details") or {}),
                request_id=ctx.request_id,
                client_ip=ctx.client_ip,
                channel=ctx.channel,
                prev_hash=previous,
            )
            entry.hash = entry.compute_hash()
            previous = entry.hash
            rows.append(entry)
        AuditEntry.objects.bulk_create(rows)
        head.seq, head.hash = seq, previous
        head.save(update_fields=["seq", "hash"])


@dataclass(frozen=True)
class Problem:
    seq: int | None
    kind: str
    message: str

    def __str__(self) -> str:
        where = f"entry #{self.seq}" if self.seq is not None else "chain"
        return f"{where}: {self.kind}: {self.message}"


@dataclass
class Verification:
    entries: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(progress: Any = None, anchors: dict[int, str] | None = None) -> Verification:
    """Walk the whole chain; report edited, missing, reordered and truncated entries.

    ``anchors`` maps entry numbers to hashes written down outside the instance (``audit
    head``); a chain rewritten from scratch still fails to match them. ``progress`` is called
    with the number of entries checked so far, every thousand entries.
    """
    anchors = dict(anchors or {})
    result = Verification()
    expected_seq = 1
    prev_hash = GENESIS_HASH
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
        if entry.seq != expected_seq:
            missing = (
                f"entry #{expected_seq} is"
                if entry.seq == expected_seq + 1
                else f"entries #{expected_seq}–#{entry.seq - 1} are"
            )
            result.problems.append(Problem(entry.seq, "missing", f"{missing} missing (deleted)"))
        if entry.prev_hash != prev_hash:
            result.problems.append(
                Problem(
                    entry.seq,
                    "broken link",
                    "does not follow the entry before it (deleted, inserted or reordered)",
                )
            )
        if entry.compute_hash() != entry.hash:
            result.problems.append(
                Problem(entry.seq, "edited", "content does not match its hash (edited)")
            )
        anchored = anchors.pop(entry.seq, None)
        if anchored is not None and anchored != entry.hash:
            result.problems.append(
                Problem(entry.seq, "anchor mismatch", "differs from the hash recorded outside")
            )
        prev_hash = entry.hash
        expected_seq = entry.seq + 1
        result.entries += 1
        result.last_seq, result.last_hash = entry.seq, entry.hash
        if progress is not None and result.entries % 1000 == 0:
            progress(result.entries)
    for seq in sorted(anchors):
        result.problems.append(Problem(seq, "anchor mismatch", "the anchored entry is missing"))
    head = AuditHead.objects.filter(pk=1).first()
    if head is None:
        result.problems.append(Problem(None, "missing head", "the chain head row is missing"))
    elif (head.seq, head.hash) != (result.last_seq, result.last_hash):
        result.problems.append(
            Problem(
                None,
                "truncated",
                f"the head records entry #{head.seq} but the trail ends at #{result.last_seq}",
            )
        )
    return result
