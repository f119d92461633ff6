"""Reading corrections: who may see which, and a correction's cell-level change log.

A correction is about a site's data: whoever may read the site's data area (its members and
the data managers) sees it and its change log, which is the diff of the two dataset versions
(old and new values). Corrections of a consent withdrawal are the data managers' alone, since
together with the dates they would point at a participant.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from cohortvault.access.guard import authorize
from cohortvault.access.policy import Action, Area, Facility, Principal, decide
from cohortvault.audit.trail import record
from cohortvault.consortium.models import Site
from cohortvault.corrections.models import AffectedDelivery, Correction
from cohortvault.corrections.services.records import CorrectionInfo, correction_info
from cohortvault.datasets import services as datasets
from cohortvault.datasets.diff import Diff
from cohortvault.errors import NotFound

__all__ = ["change_log", "correction", "corrections", "pending_redeliveries"]


def _action(row: Correction) -> Action:
    return Action.WRITE if row.kind == Correction.Kind.WITHDRAWAL else Action.READ


def _get(principal: Principal, number: int) -> Correction:
    row = Correction.objects.select_related("site", "study").filter(pk=number).first()
    if row is None:
        raise NotFound(f"There is no correction {number}.")
    area = Area.site_data(row.site.code)
    action = _action(row)
    conceal = not decide(principal, action, area).allowed
    authorize(principal, action, area, conceal=conceal, target=f"correction {number}")
    return row


def corrections(
    principal: Principal, *, ticket: int | None = None, site: str | None = None
) -> list[CorrectionInfo]:
    """The corrections of the sites whose data the principal reads, newest first."""
    readable = [
        code
        for code in Site.objects.values_list("code", flat=True)
        if decide(principal, Action.READ, Area.site_data(code)).allowed
    ]
    writable = [c for c in readable if decide(principal, Action.WRITE, Area.site_data(c)).allowed]
    rows = Correction.objects.select_related("site", "study").filter(
        Q(site__code__in=writable)
        | (Q(site__code__in=readable) & ~Q(kind=Correction.Kind.WITHDRAWAL))
    )
    if ticket is not None:
        rows = rows.filter(ticket_id=ticket)
    if site:
        rows = rows.filter(site__code=site)
    found = [correction_info(row) for row in rows[:500]]
    with transaction.atomic():
        record("corrections.list", actor=principal, details={"ticket": ticket, "site": site})
    return found


def correction(principal: Principal, number: int) -> CorrectionInfo:
    row = _get(principal, number)
    with transaction.atomic():
        record("corrections.read", actor=principal, target=f"correction {number}")
    return correction_info(row)


def change_log(principal: Principal, number: int) -> Diff:
    """Every cell the correction changed, with old and new values (the versions' diff)."""
    row = _get(principal, number)
    return datasets.diff(principal, row.site.code, row.study.code, row.old_version, row.new_version)


def pending_redeliveries(principal: Principal) -> list[CorrectionInfo]:
    """Corrections whose affected projects still wait for a corrected delivery (the data
    manager's to-do list)."""
    authorize(principal, Action.WRITE, Facility.EXTRACTION, target="pending re-deliveries")
    waiting = AffectedDelivery.objects.filter(latest=True, redelivery__isnull=True).values(
        "correction"
    )
    rows = Correction.objects.select_related("site", "study").filter(pk__in=waiting)
    return [correction_info(row) for row in rows]
