"""Ticket routes: report, list, read, comment, attach and download attachments, and the data
manager's state changes. Every route calls one service function."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from django.utils.http import content_disposition_header
from ninja import Router, Schema
from ninja.responses import Status

from cohortvault.access.policy import Action
from cohortvault.access.requirements import requires
from cohortvault.files.api import content_length
from cohortvault.tickets import services

router = Router(tags=["tickets"])


class EventOut(Schema):
    kind: str
    actor: str
    at: datetime
    old_state: str
    new_state: str
    text: str
    details: dict[str, Any]


class AttachmentOut(Schema):
    id: int
    name: str
    size: int
    content_type: str
    added_by: str
    added_at: datetime


class TicketOut(Schema):
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
    events: list[EventOut]
    attachments: list[AttachmentOut]


class TicketIn(Schema):
    site: str
    study: str
    variables: list[str]
    title: str
    description: str
    subject_id: str = ""
    timepoint: str = ""
    found_in: str = ""


class CommentIn(Schema):
    text: str


class StateIn(Schema):
    state: str
    reason: str = ""
    duplicate_of: int | None = None


def _principal(request: HttpRequest) -> Any:
    return request.principal  # type: ignore[attr-defined]


@router.get("", response=list[TicketOut])
@requires(action=Action.LIST, resource="ticket")
def list_tickets(
    request: HttpRequest,
    state: str | None = None,
    site: str | None = None,
    study: str | None = None,
    mine: bool = False,
) -> list[services.TicketInfo]:
    """Tickets you may see (yours, your sites', or all for a data manager), newest first;
    ``state`` may also be ``active`` or ``closed``."""
    return services.list_tickets(
        _principal(request), state=state, site=site, study=study, mine=mine
    )


@router.post("", response={201: TicketOut})
@requires(action=Action.WRITE, resource="ticket")
def report(request: HttpRequest, body: TicketIn) -> Status[services.TicketInfo]:
    """Report a suspected data error (anyone may)."""
    return Status(201, services.report(_principal(request), **body.dict()))


@router.get("/{number}", response=TicketOut)
@requires(action=Action.READ, resource="ticket")
def get_ticket(request: HttpRequest, number: int) -> services.TicketInfo:
    return services.get(_principal(request), number)


@router.post("/{number}/comments", response={201: TicketOut})
@requires(action=Action.WRITE, resource="ticket")
def comment(request: HttpRequest, number: int, body: CommentIn) -> Status[services.TicketInfo]:
    return Status(201, services.comment(_principal(request), number, body.text))


@router.post("/{number}/state", response=TicketOut)
@requires(action=Action.APPROVE, resource="ticket")
def change_state(request: HttpRequest, number: int, body: StateIn) -> services.TicketInfo:
    """Triage, resolve, refuse (``wont_fix``), mark as duplicate, or reopen (data managers)."""
    return services.change_state(
        _principal(request),
        number,
        body.state,
        reason=body.reason,
        duplicate_of=body.duplicate_of,
    )


@router.put("/{number}/attachments", response={201: AttachmentOut})
@requires(action=Action.WRITE, resource="ticket")
def attach(request: HttpRequest, number: int, name: str) -> Status[services.AttachmentInfo]:
    """Attach the request body as a file named ``name`` (streamed; needs Content-Length)."""
    info = services.attach(
        _principal(request),
        number,
        name=name,
        source=request,
        size=content_length(request),
        content_type=request.content_type or "application/octet-stream",
    )
    return Status(201, info)


@router.get("/{number}/attachments/{attachment_id}", response={200: None})
@requires(action=Action.READ, resource="ticket")
def download_attachment(
    request: HttpRequest, number: int, attachment_id: int
) -> StreamingHttpResponse:
    found = services.attachment(_principal(request), number, attachment_id)
    response = StreamingHttpResponse(found.chunks, content_type="application/octet-stream")
    response["Content-Length"] = str(found.size)
    response["Content-Disposition"] = content_disposition_header(True, found.name) or ""
    response["Cache-Control"] = "no-store"
    return response
