"""The records the ticket services return, for every front door to render alike."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cohortvault.tickets.models import CLOSED, Ticket

__all__ = ["AttachmentDownload", "AttachmentInfo", "EventInfo", "State", "TicketInfo", "info_of"]

State = Ticket.State


@dataclass(frozen=True)
class EventInfo:
    kind: str
    actor: str
    at: datetime
    old_state: str
    new_state: str
    text: str
    details: dict[str, Any]


@dataclass(frozen=True)
class AttachmentInfo:
    id: int
    name: str
    size: int
    content_type: str
    added_by: str
    added_at: datetime


@dataclass(frozen=True)
class TicketInfo:
    number: int
    site: str
    study: str
    variables: list[str]
    subject_id: str
    timepoint: str
    title: str
    description: str
    found_in: str
    state: str
    state_label: str
    duplicate_of: int | None
    reported_by: str
    reported_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    events: list[EventInfo] = field(default_factory=list)
    attachments: list[AttachmentInfo] = field(default_factory=list)

    @property
    def link(self) -> str:
        return f"/tickets/{self.number}/"

    @property
    def closed(self) -> bool:
        return self.state in CLOSED


@dataclass(frozen=True)
class AttachmentDownload:
    name: str
    size: int
    content_type: str
    chunks: Iterator[bytes]


def info_of(row: Ticket, *, full: bool = False) -> TicketInfo:
    events, attachments = [], []
    if full:
        events = [
            EventInfo(e.kind, e.actor, e.at, e.old_state, e.new_state, e.text, dict(e.details))
            for e in row.events.all()
        ]
        attachments = [
            AttachmentInfo(a.pk, a.name, a.size, a.content_type, a.added_by, a.added_at)
            for a in row.attachments.all()
        ]
    return TicketInfo(
        number=row.pk,
        site=row.site.code,
        study=row.study.code,
        variables=list(row.variables),
        subject_id=row.subject_id,
        timepoint=row.timepoint,
        title=row.title,
        description=row.description,
        found_in=row.found_in,
        state=row.state,
        state_label=State(row.state).label,
        duplicate_of=row.duplicate_of_id,
        reported_by=row.reported_by,
        reported_at=row.reported_at,
        updated_at=row.updated_at,
        resolved_at=row.resolved_at,
        events=events,
        attachments=attachments,
    )
