"""The only doors to error tickets, for every front door (pages, API, command line) and for the
``corrections`` app, which records its corrections here.

Who may do what is the policy's ``Ticket`` rule: anyone reports; the reporter, the members of
the site the ticket is about and the data managers read, comment and attach; the data managers
alone change a ticket's state. A ticket the caller may not see answers like a missing one.
Every call writes its audit entry; every change is also an ``Event`` of the ticket's history
and a notification to the people following it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from cohortvault.access.guard import authorize
from cohortvault.access.policy import Action, Area, Principal, Role, decide
from cohortvault.access.policy import Ticket as TicketResource
from cohortvault.audit.trail import record
from cohortvault.catalog import services as catalog
from cohortvault.consortium.models import Membership, Site, Study
from cohortvault.consortium.services import principal_for_user
from cohortvault.errors import Conflict, Invalid, NotFound
from cohortvault.files import services as files
from cohortvault.governance.notify import holders_of, notify
from cohortvault.storage.maintenance import backend
from cohortvault.tickets.models import BLOB_PURPOSE, Attachment, Event, Ticket
from cohortvault.tickets.signals import ticket_changed

__all__ = [
    "MAX_ATTACHMENT_SIZE",
    "AttachmentDownload",
    "AttachmentInfo",
    "EventInfo",
    "State",
    "TicketInfo",
    "attach",
    "attachment",
    "change_state",
    "comment",
    "get",
    "list_tickets",
    "may_triage",
    "record_correction",
    "record_redelivery",
    "report",
    "ticket_for_correction",
]

State = Ticket.State
MAX_TITLE = 200
MAX_TEXT = 10_000
MAX_ATTACHMENT_SIZE = 20 * 1024 * 1024
MAX_ATTACHMENTS = 10


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
        return self.state in (State.RESOLVED, State.WONT_FIX, State.DUPLICATE)


@dataclass(frozen=True)
class AttachmentDownload:
    name: str
    size: int
    content_type: str
    chunks: Iterator[bytes]


def _info(row: Ticket, *, full: bool = False) -> TicketInfo:
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


def _resource(row: Ticket) -> TicketResource:
    return TicketResource(site=row.site.code, reporter=row.reported_by)


def _target(number: int) -> str:
    return f"ticket {number}"


def _get(principal: Principal, number: int, action: Action) -> Ticket:
    """The ticket if the principal may ``action`` it; one they may not even read is missing."""
    row = Ticket.objects.select_related("site", "study").filter(pk=number).first()
    if row is None:
        raise NotFound(f"There is no ticket {number}.")
    resource = _resource(row)
    conceal = not decide(principal, Action.READ, resource).allowed
    authorize(principal, action, resource, conceal=conceal, target=_target(number))
    return row


def _text(value: str, limit: int, name: str, *, required: bool = True) -> str:
    cleaned = "".join(c for c in value.strip() if c in "\n\t" or unicodedata.category(c)[0] != "C")
    if required and not cleaned:
        raise Invalid(f"The {name} is required.")
    if len(cleaned) > limit:
        raise Invalid(f"The {name} is longer than {limit} characters.")
    return cleaned


def may_triage(principal: Principal, info: TicketInfo) -> bool:
    """Whether to offer state changes and corrections; the services decide again."""
    return decide(principal, Action.APPROVE, TicketResource(info.site, info.reported_by)).allowed


# --- reporting and reading -------------------------------------------------------------------


def report(
    principal: Principal,
    *,
    site: str,
    study: str,
    variables: list[str],
    title: str,
    description: str,
    subject_id: str = "",
    timepoint: str = "",
    found_in: str = "",
) -> TicketInfo:
    """File a ticket about a suspected error in a site's dataset (anyone may)."""
    authorize(principal, Action.WRITE, TicketResource(site=site, reporter=principal.username))
    found = Study.objects.select_related("site").filter(site__code=site, code=study).first()
    if found is None:
        raise Invalid(f"Site {site!r} has no study {study!r}.")
    variables = _variables(variables)
    title = _text(title, MAX_TITLE, "title")
    description = _text(description, MAX_TEXT, "description")
    subject_id = _text(subject_id, 100, "subject", required=False)
    timepoint = _text(timepoint, 100, "timepoint", required=False)
    if timepoint and not found.timepoints.filter(code=timepoint).exists():
        raise Invalid(f"Study {site}/{study} has no timepoint {timepoint!r}.")
    with transaction.atomic():
        row = Ticket.objects.create(
            site=found.site,
            study=found,
            variables=variables,
            subject_id=subject_id,
            timepoint=timepoint,
            title=title,
            description=description,
            found_in=_text(found_in, 200, "place it was found", required=False),
            reported_by=principal.username,
        )
        Event.objects.create(
            ticket=row, kind=Event.Kind.REPORTED, actor=principal.username, new_state=row.state
        )
        record(
            "tickets.report",
            actor=principal,
            target=_target(row.pk),
            details={"site": site, "study": study, "variables": variables},
        )
        said = f"Ticket {row.pk} reported about {', '.join(variables)} in {site}/{study}."
        _tell(row, said, principal, site=True)
    return _info(row, full=True)


def _variables(names: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    if not cleaned:
        raise Invalid("Name at least one variable the error concerns.")
    try:
        dictionary = catalog.current()
    except NotFound:
        return cleaned
    unknown = [n for n in cleaned if dictionary.variable(n) is None]
    if unknown:
        raise Invalid(
            "Some variables are not in the data dictionary.",
            details=[f"{n}: not a variable of the dictionary" for n in unknown],
        )
    return cleaned


def _visible(principal: Principal) -> Q | None:
    """The tickets the principal may list, as a query filter the policy decides: per site,
    and the ones they reported. ``None``: none at all."""
    sites = [
        code
        for code in Site.objects.values_list("code", flat=True)
        if decide(principal, Action.LIST, TicketResource(site=code, reporter="")).allowed
    ]
    own = decide(principal, Action.LIST, TicketResource(site="", reporter=principal.username))
    if not sites and not own:
        return None
    query = Q(site__code__in=sites)
    return query | Q(reported_by=principal.username) if own else query


def list_tickets(
    principal: Principal,
    *,
    state: str | None = None,
    site: str | None = None,
    study: str | None = None,
    mine: bool = False,
) -> list[TicketInfo]:
    """Tickets the principal may see, newest first. ``state`` may also be ``active`` (not
    closed) or ``closed``."""
    visible = _visible(principal)
    rows: QuerySet[Ticket] = Ticket.objects.select_related("site", "study")
    rows = rows.filter(visible) if visible is not None else rows.none()
    rows = _filtered(rows, state=state, site=site, study=study)
    if mine:
        rows = rows.filter(reported_by=principal.username)
    found = [_info(row) for row in rows[:1000]]
    with transaction.atomic():
        record("tickets.list", actor=principal, details={"state": state, "site": site})
    return found


def _filtered(
    rows: QuerySet[Ticket], *, state: str | None, site: str | None, study: str | None
) -> QuerySet[Ticket]:
    closed = [State.RESOLVED, State.WONT_FIX, State.DUPLICATE]
    if state == "active":
        rows = rows.exclude(state__in=closed)
    elif state == "closed":
        rows = rows.filter(state__in=closed)
    elif state:
        if state not in State.values:
            raise Invalid(f"Unknown state {state!r}; one of: active, closed, {', '.join(State)}.")
        rows = rows.filter(state=state)
    if site:
        rows = rows.filter(site__code=site)
    if study:
        rows = rows.filter(study__code=study)
    return rows


def get(principal: Principal, number: int) -> TicketInfo:
    """A ticket with its whole history and its attachments."""
    row = _get(principal, number, Action.READ)
    with transaction.atomic():
        record("tickets.read", actor=principal, target=_target(number))
    return _info(row, full=True)


# --- taking part -------------------------------------------------------------------------------


def comment(principal: Principal, number: int, text: str) -> TicketInfo:
    row = _get(principal, number, Action.WRITE)
    text = _text(text, MAX_TEXT, "comment")
    with transaction.atomic():
        Event.objects.create(
            ticket=row, kind=Event.Kind.COMMENT, actor=principal.username, text=text
        )
        _touch(row)
        record("tickets.comment", actor=principal, target=_target(number))
        _tell(row, f"{principal.username} commented on ticket {number}.", principal)
    return _info(row, full=True)


def attach(
    principal: Principal,
    number: int,
    *,
    name: str,
    source: Any,
    size: int | None,
    content_type: str = "application/octet-stream",
) -> AttachmentInfo:
    """Store a file with the ticket, encrypted under the key of its site's data area."""
    row = _get(principal, number, Action.WRITE)
    name = _filename(name)
    if size is not None and size > MAX_ATTACHMENT_SIZE:
        raise Invalid(f"An attachment may be at most {MAX_ATTACHMENT_SIZE // (1024 * 1024)} MiB.")
    if row.attachments.count() >= MAX_ATTACHMENTS:
        raise Conflict(f"A ticket holds at most {MAX_ATTACHMENTS} attachments.")
    files.check_room(size)
    key_row, keys = files.area_secrets(Area.site_data(row.site.code))
    blob = files.store_blob(key_row, keys, source, size=size)
    blob.purpose = BLOB_PURPOSE
    try:
        if blob.size > MAX_ATTACHMENT_SIZE:
            raise Invalid(
                f"An attachment may be at most {MAX_ATTACHMENT_SIZE // (1024 * 1024)} MiB."
            )
        with transaction.atomic():
            blob.save(force_insert=True)
            attached = Attachment.objects.create(
                ticket=row,
                name=name,
                content_type=_content_type(content_type),
                blob=blob,
                size=blob.size,
                added_by=principal.username,
            )
            Event.objects.create(
                ticket=row,
                kind=Event.Kind.ATTACHMENT,
                actor=principal.username,
                text=name,
                details={"attachment": attached.pk, "size": blob.size},
            )
            _touch(row)
            record(
                "tickets.attach",
                actor=principal,
                target=_target(number),
                details={"attachment": attached.pk, "size": blob.size},
            )
            _tell(row, f"{principal.username} attached {name} to ticket {number}.", principal)
    except BaseException:
        backend().delete(blob.id.hex)
        raise
    return AttachmentInfo(
        attached.pk, attached.name, attached.size, attached.content_type, attached.added_by,
        attached.added_at,
    )  # fmt: skip


def _filename(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = unicodedata.normalize("NFC", "".join(c for c in base if c.isprintable())).strip()
    if cleaned in ("", ".", ".."):
        raise Invalid("Give the attachment a file name.")
    return cleaned[:255]


def _content_type(value: str) -> str:
    value = value.split(";", 1)[0].strip().lower()
    allowed = all(c.isalnum() or c in "/.+-" for c in value) and value.count("/") == 1
    return value[:100] if allowed else "application/octet-stream"


def attachment(principal: Principal, number: int, attachment_id: int) -> AttachmentDownload:
    row = _get(principal, number, Action.READ)
    found = row.attachments.select_related("blob__area_key").filter(pk=attachment_id).first()
    if found is None:
        raise NotFound(f"Ticket {number} has no attachment {attachment_id}.")
    with transaction.atomic():
        record(
            "tickets.attachment",
            actor=principal,
            target=_target(number),
            details={"attachment": found.pk},
        )
    return AttachmentDownload(
        found.name, found.size, found.content_type, files.blob_chunks(found.blob)
    )


# --- the data manager's decisions -------------------------------------------------------------


def change_state(
    principal: Principal,
    number: int,
    state: str,
    *,
    reason: str = "",
    duplicate_of: int | None = None,
) -> TicketInfo:
    """Triage, resolve, refuse or mark as duplicate (the data manager); reopen a closed one."""
    row = _get(principal, number, Action.APPROVE)
    if state not in State.values:
        raise Invalid(f"Unknown state {state!r}; one of: {', '.join(State.values)}.")
    reason = _text(reason, MAX_TEXT, "reason", required=state in (State.WONT_FIX, State.RESOLVED))
    original: Ticket | None = None
    if state == State.DUPLICATE:
        if duplicate_of is None or duplicate_of == row.pk:
            raise Invalid("Name the other ticket this one duplicates.")
        original = _get(principal, duplicate_of, Action.READ)
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
            target=_target(number),
            reason=reason,
            details={"from": row.state, "to": state, "duplicate_of": duplicate_of},
        )
    return _info(locked, full=True)


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
    _touch(row, fields=["state", "duplicate_of", "resolved_at"])
    ticket_changed.send(Ticket, ticket=row)
    _tell(row, f"Ticket {row.pk} is now {State(state).label}.", principal)


def _touch(row: Ticket, *, fields: list[str] | None = None) -> None:
    row.updated_at = timezone.now()
    row.save(update_fields=[*(fields or []), "updated_at"])


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
    _touch(row)


def ticket_for_correction(principal: Principal, number: int) -> TicketInfo:
    """The ticket a data manager is about to correct: it must be open to correction."""
    row = _get(principal, number, Action.APPROVE)
    if row.state in (State.WONT_FIX, State.DUPLICATE):
        raise Conflict(f"Ticket {number} is {State(row.state).label}; reopen it to correct it.")
    return _info(row)


# --- who hears of it ---------------------------------------------------------------------------


def _followers(row: Ticket, *, site: bool) -> Iterator[Any]:
    names = {row.reported_by}
    names.update(row.events.filter(kind=Event.Kind.COMMENT).values_list("actor", flat=True))
    users = get_user_model().objects.filter(username__in=names, is_active=True)
    yield from users
    yield from holders_of(Role.DATA_MANAGER)
    if site:
        members = Membership.objects.active().filter(group__site=row.site).values("user_id")
        yield from get_user_model().objects.filter(pk__in=members, is_active=True)


def _tell(row: Ticket, text: str, actor: Principal, *, site: bool = False) -> None:
    """Notify everyone following the ticket who may still see it, except whoever acted. The
    text never quotes the ticket's own words, which may name a subject: notifications are
    also e-mailed."""
    told: set[str] = {actor.username}
    for user in _followers(row, site=site):
        name = user.get_username()
        if name in told:
            continue
        told.add(name)
        if decide(principal_for_user(user), Action.READ, _resource(row)).allowed:
            notify(user, text, link=f"/tickets/{row.pk}/")
