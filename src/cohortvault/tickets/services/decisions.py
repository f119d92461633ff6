"""The data manager's decisions on tickets, and what the ``corrections`` app records on them."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from cohortvault.access.policy import Action, Principal
from cohortvault.audit.trail import record
from cohortvault.errors import Conflict, Invalid
from cohortvault.tickets.models import Event, Ticket
from cohortvault.tickets.services.common import (
    MAX_TEXT,
    clean_text,
    target_of,
    tell_followers,
    ticket_row,
    touch,
)
from cohortvault.tickets.services.records import State, TicketInfo, info_of
from cohortvault.tickets.signals import ticket_changed

__all__ = [
    "change_state",
    "record_correction",
    "record_redelivery",
    "ticket_for_correction",
]


def change_state(
    principal: Principal,
    number: int,
    state: str,
    *,
    reason: str = "",
    duplicate_of: int | None = None,
) -> TicketInfo:
    """Triage, resolve, refuse or mark as duplicate (the data manager); reopen a closed one."""
    row = ticket_row(principal, number, Action.APPROVE)
    if state not in State.values:
        raise Invalid(f"Unknown state {state!r}; one of: {', '.join(State.values)}.")
    reason = clean_text(
        reason, MAX_TEXT, "reason", required=state in (State.WONT_FIX, State.RESOLVED)
    )
    original: Ticket | None = None
    if state == State.DUPLICATE:
        if duplicate_of is None or duplicate_of == row.pk:
            raise Invalid("Name the other ticket this one duplicates.")
        original = ticket_row(principal, duplicate_of, Action.READ)
    elif duplicate_of is not None:
        raise Invalid("Only a duplicate names another ticket.")
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().select_related("site", "study").get(pk=row.pk)
        if locked.state == state:
            raise Conflict(f"Ticket {number} is already {State(state).label}.")
        _move(locked, principal, state, reason, duplicate_of=original)
        record(
            "tickets.state",
            actor=principal,
            target=target_of(number),
            reason=reason,
            details={"from": row.state, "to": state, "duplicate_of": duplicate_of},
        )
    return info_of(locked, full=True)


def _move(
    row: Ticket,
    principal: Principal,
    state: str,
    text: str,
    *,
    duplicate_of: Ticket | None = None,
    details: dict[str, Any] | None = None,
    kind: str = Event.Kind.STATE,
) -> None:
    old = row.state
    row.state = state
    row.duplicate_of = duplicate_of
    row.resolved_at = timezone.now() if state == State.RESOLVED else row.resolved_at
    if state in (State.OPEN, State.TRIAGED, State.CORRECTING):
        row.resolved_at = None
    Event.objects.create(
        ticket=row,
        kind=kind,
        actor=principal.username,
        old_state=old,
        new_state=state,
        text=text,
        details=details or {},
    )
    touch(row, fields=["state", "duplicate_of", "resolved_at"])
    ticket_changed.send(Ticket, ticket=row)
    tell_followers(row, f"Ticket {row.pk} is now {State(state).label}.", principal)


def record_correction(
    principal: Principal, number: int, *, summary: str, details: dict[str, Any]
) -> None:
    """A correction of the ticket's data landed (called by ``corrections`` inside its
    transaction): the ticket is resolved, and its followers told what changed, in counts."""
    row = Ticket.objects.select_for_update().select_related("site", "study").get(pk=number)
    _move(row, principal, State.RESOLVED, summary, details=details, kind=Event.Kind.CORRECTION)


def record_redelivery(principal: Principal, number: int, *, text: str, project: str) -> None:
    """A project received corrected data for this ticket."""
    row = Ticket.objects.select_related("site", "study").get(pk=number)
    Event.objects.create(
        ticket=row,
        kind=Event.Kind.REDELIVERY,
        actor=principal.username,
        text=text,
        details={"project": project},
    )
    touch(row)


def ticket_for_correction(principal: Principal, number: int) -> TicketInfo:
    """The ticket a data manager is about to correct: it must be open to correction."""
    row = ticket_row(principal, number, Action.APPROVE)
    if row.state in (State.WONT_FIX, State.DUPLICATE):
        raise Conflict(f"Ticket {number} is {State(row.state).label}; reopen it to correct it.")
    return info_of(row)
