"""Consent withdrawal: a participant's rows leave the site's data and every project's data.

At once (``withdraw_consent``, the data manager): every dataset of the site whose latest
version holds the subject gets a new version without them; every active project whose newest
delivery holds them is re-delivered without them and its members are told to delete copies;
quality control refuses their rows in any later import.

Once the retention period has passed (``erase_due``, run by ``cohortvault storage gc`` and the
server's periodic collection): their rows are erased from every earlier version of the site's
datasets, from every delivery of any project, and from the stored import files; their subject
ID is blanked in quality-control reports and tickets. docs/corrections.md lists it all.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cohortvault.access.guard import authorize
from cohortvault.access.policy import Action, Area, Principal, decide
from cohortvault.audit.trail import Outcome, record
from cohortvault.catalog import services as catalog
from cohortvault.consortium.models import Project, Site
from cohortvault.corrections.models import AffectedDelivery, Correction, Withdrawal
from cohortvault.corrections.services.affected import tell_members
from cohortvault.corrections.services.correcting import finish
from cohortvault.corrections.services.records import WithdrawalInfo, withdrawal_info
from cohortvault.datasets import services as datasets
from cohortvault.deliveries import redaction
from cohortvault.deliveries import services as deliveries
from cohortvault.deliveries.models import Delivery
from cohortvault.errors import CohortvaultError, Conflict, Invalid, NotFound
from cohortvault.imports import erasure as import_erasure
from cohortvault.storage.models import AreaKey
from cohortvault.tickets.models import Event, Ticket

__all__ = ["erase_due", "withdraw_consent", "withdrawal", "withdrawals", "withdrawn_at"]

logger = logging.getLogger(__name__)
REDACTED = import_erasure.REDACTED


def withdrawn_at(site: str) -> list[str]:
    """Subjects of the site who withdrew (quality control refuses their rows)."""
    return list(Withdrawal.objects.filter(site__code=site).values_list("subject_id", flat=True))


def _may_manage(principal: Principal, site: str) -> None:
    """Withdrawals name subjects: only whoever writes the site's data (the data manager)."""
    authorize(principal, Action.WRITE, Area.site_data(site), target=f"withdrawals of {site}")


def withdraw_consent(
    principal: Principal, *, site: str, subject_id: str, reason: str
) -> WithdrawalInfo:
    """Record the withdrawal and remove the subject from the site's current data and from the
    projects' current deliveries (the data manager)."""
    _may_manage(principal, site)
    subject_id = subject_id.strip()
    found = Site.objects.filter(code=site).first()
    if found is None:
        raise NotFound(f"There is no site {site}.")
    if not subject_id or len(subject_id) > 100 or not subject_id.isprintable():
        raise Invalid("Give the subject_id of the participant who withdrew.")
    if len(reason.strip()) > 4000:
        raise Invalid("The reason is longer than 4000 characters.")
    if Withdrawal.objects.filter(site=found, subject_id=subject_id).exists():
        raise Conflict(f"This participant's withdrawal at {site} is already recorded.")
    with transaction.atomic():
        row = Withdrawal.objects.create(
            site=found,
            subject_id=subject_id,
            reason=reason.strip(),
            recorded_by=principal.username,
            erase_after=timezone.now() + timedelta(days=settings.COHORTVAULT_RETENTION_DAYS),
        )
        changed = _remove_from_datasets(principal, row)
        record(
            "corrections.withdraw",
            actor=principal,
            target=f"sites/{site}/data",
            details={
                "withdrawal": row.pk,
                "datasets": [f"{site}/{study}" for study, _ in changed],
                "erase_after": row.erase_after.isoformat(),
            },
        )
    _redeliver(principal, row, dict(changed))
    return withdrawal_info(row)


def _remove_from_datasets(principal: Principal, row: Withdrawal) -> list[tuple[str, int]]:
    """A new version without the subject of each of the site's datasets that holds them."""
    site = row.site.code
    changed = []
    for dataset in datasets.datasets(principal):
        if dataset.site != site:
            continue
        table = datasets.read_version(principal, site, dataset.study, dataset.latest.number)
        kept = datasets.without_subject(table, row.subject_id)
        if kept.num_rows == table.num_rows:
            continue
        version = datasets.create_version(
            principal,
            site=site,
            study=dataset.study,
            table=kept,
            dictionary=catalog.current(),
            source=f"consent withdrawal {row.pk}",
            reason=f"A participant withdrew consent (withdrawal {row.pk}).",
        )
        finish(
            principal,
            kind=Correction.Kind.WITHDRAWAL,
            site=site,
            study=dataset.study,
            old_version=dataset.latest.number,
            new_version=version.number,
            reason=f"A participant withdrew consent (withdrawal {row.pk}).",
            withdrawal=row,
        )
        changed.append((dataset.study, version.number))
    return changed


def _redeliver(principal: Principal, row: Withdrawal, changed: dict[str, int]) -> None:
    """Re-deliver every active project whose newest delivery holds the subject."""
    site = row.site.code
    corrections = {c.study.code: c for c in row.corrections.select_related("study")}
    if not corrections:
        return  # no current data held them; earlier deliveries are erased after retention
    for code, number in sorted(deliveries.latest_numbers().items()):
        latest = Delivery.objects.select_related("project").get(project__code=code, number=number)
        spec = json.loads(latest.spec)
        studies = [s["study"] for s in spec.get("sources", []) if s.get("site") == site]
        if not studies:
            continue
        table = deliveries.read_table(principal, code, number)
        held = redaction.delivered_rows(table, site=site, subject_id=row.subject_id)
        if not held:
            continue
        correction = next(
            (corrections[s] for s in studies if s in corrections), next(iter(corrections.values()))
        )
        affected = AffectedDelivery.objects.create(
            correction=correction,
            project=latest.project,
            delivery=latest,
            rows=held,
            latest=True,
        )
        versions = {f"{site}/{s}": v for s, v in changed.items() if s in studies}
        try:
            made = deliveries.redeliver(
                principal,
                code,
                based_on=number,
                versions=versions,
                note=(
                    "Re-delivered without a participant who withdrew consent "
                    f"(withdrawal {row.pk})."
                ),
            )
        except CohortvaultError as exc:
            AffectedDelivery.objects.filter(pk=affected.pk).update(problem=exc.message[:2000])
            logger.warning("re-delivery of %s after withdrawal %s failed", code, row.pk)
            continue
        AffectedDelivery.objects.filter(pk=affected.pk).update(
            redelivery=Delivery.objects.get(project=latest.project, number=made.number)
        )
        tell_members(
            code,
            f"Delivery {number:03d} of project {code} held data of a participant who withdrew "
            f"consent; delivery {made.number:03d} replaces it. Delete any copies of earlier "
            "deliveries you made outside the platform.",
            link=f"/deliveries/{code}/",
        )


# --- reading -------------------------------------------------------------------------------------


def withdrawals(principal: Principal, *, site: str | None = None) -> list[WithdrawalInfo]:
    """The withdrawals of the sites whose data the principal writes (the data manager)."""
    codes = [
        code
        for code in Site.objects.values_list("code", flat=True)
        if decide(principal, Action.WRITE, Area.site_data(code)).allowed
        and (site is None or code == site)
    ]
    if not codes and site is not None:
        _may_manage(principal, site)
    rows = Withdrawal.objects.select_related("site").filter(site__code__in=codes)
    found = [withdrawal_info(r) for r in rows]
    with transaction.atomic():
        record("corrections.withdrawals", actor=principal, details={"withdrawals": len(found)})
    return found


def withdrawal(principal: Principal, number: int) -> WithdrawalInfo:
    row = Withdrawal.objects.select_related("site").filter(pk=number).first()
    if row is None:
        raise NotFound(f"There is no withdrawal {number}.")
    area = Area.site_data(row.site.code)
    conceal = not decide(principal, Action.WRITE, area).allowed
    authorize(principal, Action.WRITE, area, conceal=conceal, target=f"withdrawal {number}")
    with transaction.atomic():
        record("corrections.withdrawal", actor=principal, target=f"withdrawal {number}")
    return withdrawal_info(row)


# --- erasure after retention ---------------------------------------------------------------------


def erase_due() -> dict[str, int]:
    """Erase the subjects of every withdrawal whose retention period has ended (a purger of
    ``storage.maintenance``). Returns counts for the garbage collector's report."""
    totals: dict[str, int] = {}
    due = Withdrawal.objects.select_related("site").filter(
        erased_at__isnull=True, erase_after__lte=timezone.now()
    )
    for row in due:
        try:
            counts = _erase(row)
        except Exception:
            logger.exception("erasure of withdrawal %s failed; it is tried again next time", row.pk)
            with transaction.atomic():
                record(
                    "corrections.erase",
                    actor=Principal.system(),
                    outcome=Outcome.FAILED,
                    target=f"withdrawal {row.pk}",
                )
            continue
        for kind, count in counts.items():
            totals[kind] = totals.get(kind, 0) + count
    return totals


def _erase(row: Withdrawal) -> dict[str, int]:
    site, subject = row.site.code, row.subject_id
    reason = f"consent withdrawal {row.pk}"
    versions = datasets.redact(site=site, subject_id=subject, reason=reason)
    redacted_deliveries = 0
    for delivery in Delivery.objects.select_related("project").order_by("project", "number"):
        spec = json.loads(delivery.spec)
        if not any(s.get("site") == site for s in spec.get("sources", [])):
            continue
        if _area_gone(delivery.project):
            continue  # a closed project's erased area: nothing left to redact
        if redaction.redact(delivery, site=site, subject_id=subject, reason=reason):
            redacted_deliveries += 1
    counts = {
        "dataset versions redacted": len(versions),
        "deliveries redacted": redacted_deliveries,
        **import_erasure.erase_subject(site, subject, reason=reason),
        "tickets redacted": _scrub_tickets(site, subject),
    }
    with transaction.atomic():
        Withdrawal.objects.filter(pk=row.pk).update(erased_at=timezone.now(), erasure=counts)
        record(
            "corrections.erase",
            actor=Principal.system(),
            target=f"withdrawal {row.pk}",
            details={"site": site, **counts},
        )
    return {f"withdrawals erased: {k}": v for k, v in counts.items()} | {"withdrawals erased": 1}


def _area_gone(project: Project) -> bool:
    return AreaKey.objects.filter(
        area=Area.project(project.code).path, destroyed_at__isnull=False
    ).exists()


def _scrub_tickets(site: str, subject: str) -> int:
    """Blank the subject's ID in the site's tickets: their key field, texts and comments."""
    scrubbed = 0
    mentioned = (
        Q(subject_id=subject) | Q(description__contains=subject) | Q(title__contains=subject)
    )
    for ticket in Ticket.objects.filter(Q(site__code=site) & mentioned):
        Ticket.objects.filter(pk=ticket.pk).update(
            subject_id=REDACTED if ticket.subject_id == subject else ticket.subject_id,
            title=ticket.title.replace(subject, REDACTED),
            description=ticket.description.replace(subject, REDACTED),
        )
        scrubbed += 1
    for event in Event.objects.filter(ticket__site__code=site, text__contains=subject):
        Event.objects.filter(pk=event.pk).update(text=event.text.replace(subject, REDACTED))
    return scrubbed
