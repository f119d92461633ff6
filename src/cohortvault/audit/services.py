"""Reading the audit trail: for the data protection officer only, and itself audited."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import IO

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from cohortvault.access.guard import authorize
from cohortvault.access.policy import Action, Facility, Principal
from cohortvault.audit.models import AuditEntry
from cohortvault.audit.trail import record

__all__ = ["CSV_COLUMNS", "TrailFilter", "search", "write_csv"]

CSV_COLUMNS = [
    "seq",
    "at",
    "actor",
    "action",
    "outcome",
    "target",
    "reason",
    "details",
    "channel",
    "client_ip",
    "request_id",
    "hash",
]


@dataclass(frozen=True)
class TrailFilter:
    actor: str = ""
    action: str = ""
    outcome: str = ""
    since: date | None = None
    until: date | None = None

    def describe(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.__dict__.items() if v}


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def search(
    principal: Principal, filters: TrailFilter, *, purpose: str = "view"
) -> QuerySet[AuditEntry]:
    """Entries matching ``filters``, newest first. Reading the trail is recorded in the trail."""
    authorize(principal, Action.READ, Facility.AUDIT_TRAIL)
    entries = AuditEntry.objects.all()
    if filters.actor:
        entries = entries.filter(actor=filters.actor)
    if filters.action:
        entries = entries.filter(action__startswith=filters.action)
    if filters.outcome:
        entries = entries.filter(outcome=filters.outcome)
    if filters.since:
        entries = entries.filter(at__gte=_day_start(filters.since))
    if filters.until:
        entries = entries.filter(at__lt=_day_start(filters.until + timedelta(days=1)))
    with transaction.atomic():
        record(
            "audit.read",
            actor=principal,
            target="audit trail",
            details={"filters": filters.describe(), "purpose": purpose},
        )
    return entries.order_by("-seq")


def write_csv(entries: Iterable[AuditEntry], stream: IO[str]) -> None:
    writer = csv.writer(stream)
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        row = [
            e.seq,
            e.at.isoformat(),
            e.actor,
            e.action,
            e.outcome,
            e.target,
            e.reason,
            json.dumps(e.details, sort_keys=True),
            e.channel,
            e.client_ip,
            e.request_id,
            e.hash,
        ]
        writer.writerow([_safe(cell) if isinstance(cell, str) else cell for cell in row])


def _safe(value: str) -> str:
    """Neutralise cells a spreadsheet would execute (CSV injection)."""
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value
