"""What every ticket door shares: finding a ticket the caller may act on, cleaning texts,
recording a change, and telling the people who follow the ticket."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from cohortvault.access.guard import authorize
from cohortvault.access.policy import Action, Principal, Role, decide
from cohortvault.access.policy import Ticket as TicketResource
from cohortvault.consortium.models import Membership
from cohortvault.consortium.services import principal_for_user
from cohortvault.errors import Invalid, NotFound
from cohortvault.governance.notify import holders_of, notify
from cohortvault.tickets.models import Event, Ticket
from cohortvault.tickets.services.records import TicketInfo

MAX_TEXT = 10_000


def _resource(row: Ticket) -> TicketResource:
    return TicketResource(site=row.site.code, reporter=row.reported_by)


def target_of(number: int) -> str:
    return f"ticket {number}"


def ticket_row(principal: Principal, number: int, action: Action) -> Ticket:
    """The ticket if the principal may ``action`` it; one they may not even read is missing."""
    row = Ticket.objects.select_related("site", "study").filter(pk=number).first()
    if row is None:
        raise NotFound(f"There is no ticket {number}.")
    resource = _resource(row)
    conceal = not decide(principal, Action.READ, resource).allowed
    authorize(principal, action, resource, conceal=conceal, target=target_of(number))
    return row


def clean_text(value: str, limit: int, name: str, *, required: bool = True) -> str:
    cleaned = "".join(c for c in value.strip() if c in "\n\t" or unicodedata.category(c)[0] != "C")
    if required and not cleaned:
        raise Invalid(f"The {name} is required.")
    if len(cleaned) > limit:
        raise Invalid(f"The {name} is longer than {limit} characters.")
    return cleaned


def may_triage(principal: Principal, info: TicketInfo) -> bool:
    """Whether to offer state changes and corrections; the services decide again."""
    return decide(principal, Action.APPROVE, TicketResource(info.site, info.reported_by)).allowed


def touch(row: Ticket, *, fields: list[str] | None = None) -> None:
    row.updated_at = timezone.now()
    row.save(update_fields=[*(fields or []), "updated_at"])


def _followers(row: Ticket, *, site: bool) -> Iterator[Any]:
    names = {row.reported_by}
    names.update(row.events.filter(kind=Event.Kind.COMMENT).values_list("actor", flat=True))
    users = get_user_model().objects.filter(username__in=names, is_active=True)
    yield from users
    yield from holders_of(Role.DATA_MANAGER)
    if site:
        members = Membership.objects.active().filter(group__site=row.site).values("user_id")
        yield from get_user_model().objects.filter(pk__in=members, is_active=True)


def tell_followers(row: Ticket, text: str, actor: Principal, *, site: bool = False) -> None:
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
