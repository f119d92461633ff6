"""Reporting a ticket, and listing and reading the ones the caller may see."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q, QuerySet

from cohortvault.access.guard import authorize
from cohortvault.access.policy import Action, Principal, decide
from cohortvault.access.policy import Ticket as TicketResource
from cohortvault.audit.trail import record
from cohortvault.catalog import services as catalog
from cohortvault.consortium.models import Site, Study
from cohortvault.errors import Invalid, NotFound
from cohortvault.tickets.models import CLOSED, Event, Ticket
from cohortvault.tickets.services.common import (
    MAX_TEXT,
    clean_text,
    target_of,
    tell_followers,
    ticket_row,
)
from cohortvault.tickets.services.records import State, TicketInfo, info_of

__all__ = ["get", "list_tickets", "report"]

MAX_TITLE = 200


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
    title = clean_text(title, MAX_TITLE, "title")
    description = clean_text(description, MAX_TEXT, "description")
    subject_id = clean_text(subject_id, 100, "subject", required=False)
    timepoint = clean_text(timepoint, 100, "timepoint", required=False)
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
            found_in=clean_text(found_in, 200, "place it was found", required=False),
            reported_by=principal.username,
        )
        Event.objects.create(
            ticket=row, kind=Event.Kind.REPORTED, actor=principal.username, new_state=row.state
        )
        record(
            "tickets.report",
            actor=principal,
            target=target_of(row.pk),
            details={"site": site, "study": study, "variables": variables},
        )
        said = f"Ticket {row.pk} reported about {', '.join(variables)} in {site}/{study}."
        tell_followers(row, said, principal, site=True)
    return info_of(row, full=True)


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
    found = [info_of(row) for row in rows[:1000]]
    with transaction.atomic():
        record("tickets.list", actor=principal, details={"state": state, "site": site})
    return found


def _filtered(
    rows: QuerySet[Ticket], *, state: str | None, site: str | None, study: str | None
) -> QuerySet[Ticket]:
    if state == "active":
        rows = rows.exclude(state__in=CLOSED)
    elif state == "closed":
        rows = rows.filter(state__in=CLOSED)
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
    row = ticket_row(principal, number, Action.READ)
    with transaction.atomic():
        record("tickets.read", actor=principal, target=target_of(number))
    return info_of(row, full=True)
