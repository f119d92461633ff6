"""The public error log in the common area: what was found in the data and what was fixed.

One line per confirmed ticket (triaged, being corrected or resolved): its number, site,
dataset, variables, how many values were corrected, when it was reported and fixed, and which
projects were re-delivered or still wait. Never a value, a subject or a ticket's own words
(titles and descriptions may name people or subjects). Published as CSV, JSON and Markdown in
``logs/error-log/`` whenever a ticket or correction changes, and shown on a page.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict

from django.db import transaction

from cohortvault.access.guard import authorize
from cohortvault.access.policy import Action, Area, Principal
from cohortvault.audit.trail import record
from cohortvault.corrections.models import AffectedDelivery, Correction
from cohortvault.corrections.services.records import ErrorLogRow
from cohortvault.files import services as files
from cohortvault.tickets.models import Ticket

__all__ = ["FOLDER", "PUBLISHED", "as_csv", "error_log", "publish", "rows"]

FOLDER = "logs/error-log"
PUBLISHED = (f"{FOLDER}/error-log.csv", f"{FOLDER}/error-log.json", f"{FOLDER}/error-log.md")
SHOWN = (Ticket.State.TRIAGED, Ticket.State.CORRECTING, Ticket.State.RESOLVED)
COLUMNS = (
    "ticket",
    "site",
    "dataset",
    "variables",
    "values_corrected",
    "state",
    "reported",
    "fixed",
    "projects_redelivered",
    "projects_awaiting",
)


def rows() -> list[ErrorLogRow]:
    tickets = Ticket.objects.select_related("site", "study").filter(state__in=SHOWN).order_by("pk")
    corrected: dict[int, int] = defaultdict(int)
    variables: dict[int, set[str]] = defaultdict(set)
    for ticket_id, cells, names in Correction.objects.filter(ticket__in=tickets).values_list(
        "ticket", "cells", "variables"
    ):
        corrected[ticket_id] += cells
        variables[ticket_id].update(names)
    redelivered: dict[int, set[str]] = defaultdict(set)
    awaiting: dict[int, set[str]] = defaultdict(set)
    affected = AffectedDelivery.objects.filter(correction__ticket__in=tickets, latest=True)
    for ticket_id, project, number in affected.values_list(
        "correction__ticket", "project__code", "redelivery__number"
    ):
        if number is None:
            awaiting[ticket_id].add(project)
        else:
            redelivered[ticket_id].add(f"{project} ({number:03d})")
    return [
        ErrorLogRow(
            ticket=t.pk,
            site=t.site.code,
            dataset=t.study.code,
            variables=sorted(set(t.variables) | variables[t.pk]),
            values_corrected=corrected[t.pk],
            state=Ticket.State(t.state).label,
            reported=t.reported_at.date().isoformat(),
            fixed=t.resolved_at.date().isoformat() if t.resolved_at else "",
            projects_redelivered=sorted(redelivered[t.pk]),
            projects_awaiting=sorted(awaiting[t.pk] - {p.split(" ")[0] for p in redelivered[t.pk]}),
        )
        for t in tickets
    ]


def error_log(principal: Principal) -> list[ErrorLogRow]:
    """The error log, for anyone (it lives in the common area, which everyone reads)."""
    authorize(principal, Action.READ, Area.logs(), target=FOLDER)
    found = rows()
    with transaction.atomic():
        record(
            "corrections.error_log", actor=principal, target=FOLDER, details={"rows": len(found)}
        )
    return found


def as_csv(found: list[ErrorLogRow]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in found:
        data = row.to_dict()
        writer.writerow(
            ["; ".join(v) if isinstance(v, list) else v for v in (data[c] for c in COLUMNS)]
        )
    return buffer.getvalue().encode("utf-8")


def _markdown(found: list[ErrorLogRow]) -> bytes:
    lines = [
        "# Error log",
        "",
        "Data errors found in the consortium's site datasets and how they were fixed. No values "
        "and no subjects are shown; the data manager and each site see the cell-level changes.",
        "",
        "| ticket | site | dataset | variables | values corrected | state | reported | fixed "
        "| projects re-delivered | projects waiting |",
        "| ---: | --- | --- | --- | ---: | --- | --- | --- | --- | --- |",
    ]
    for r in found:
        cells = [
            str(r.ticket),
            r.site,
            r.dataset,
            ", ".join(r.variables),
            str(r.values_corrected),
            r.state,
            r.reported,
            r.fixed,
            ", ".join(r.projects_redelivered),
            ", ".join(r.projects_awaiting),
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    if not found:
        lines.append("")
        lines.append("No errors have been confirmed yet.")
    return ("\n".join(lines) + "\n").encode("utf-8")


def publish() -> list[str]:
    """Write the error log into the common area as the platform (inside the caller's
    transaction, so the log changes with what it reports)."""
    found = rows()
    contents = (
        as_csv(found),
        (json.dumps([r.to_dict() for r in found], indent=2, ensure_ascii=False) + "\n").encode(),
        _markdown(found),
    )
    system = Principal.system()
    for path, content in zip(PUBLISHED, contents, strict=True):
        files.write_file(system, path, io.BytesIO(content), size=len(content))
    return list(PUBLISHED)
