"""``GET /audit``: the trail for the data protection officer's scripts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from cohortvault.access.policy import Action
from cohortvault.access.requirements import requires
from cohortvault.audit import services

router = Router(tags=["audit"])


class EntryOut(Schema):
    seq: int
    at: datetime
    actor: str
    action: str
    outcome: str
    target: str
    reason: str
    details: dict[str, Any]
    channel: str
    client_ip: str
    request_id: str
    hash: str


class TrailQuery(Schema):
    actor: str = ""
    action: str = ""
    outcome: str = ""
    since: date | None = None
    until: date | None = None
    limit: int = 100
    offset: int = 0


@router.get("", response=list[EntryOut])
@requires(action=Action.READ, resource="audit_trail")
def list_entries(request: HttpRequest, query: Query[TrailQuery]) -> list[Any]:
    """Audit entries matching the filters, newest first (at most 1000 per call)."""
    filters = services.TrailFilter(
        actor=query.actor,
        action=query.action,
        outcome=query.outcome,
        since=query.since,
        until=query.until,
    )
    entries = services.search(request.principal, filters, purpose="api")  # type: ignore[attr-defined]
    limit = max(1, min(query.limit, 1000))
    offset = max(0, query.offset)
    return list(entries[offset : offset + limit])
