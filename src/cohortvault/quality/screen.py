"""The de-identification screen over a table: column names, then cell contents.

Contents: the conformance pass counted, per column, the cells its gate regex matches. Only for
columns with such cells, one more Polars query fetches their distinct values with counts (the
most frequent ``CANDIDATES`` per column), and only those values go through the Python
detectors. Personal data found is an error (a possible Danish CPR number without its mod-11
check, a postcode column and full dates in a column named for an event are warnings).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl

from cohortvault.catalog.schema import FieldType
from cohortvault.quality.colnames import normalise, screen_name
from cohortvault.quality.detectors import BY_NAME, UNION_GATE, Detector, Hit, scan_value
from cohortvault.quality.masking import mask
from cohortvault.quality.model import PERSONAL_DATA, Finding, Severity
from cohortvault.quality.plans import COUNT, INTERNAL, Plan, needs_screen

CANDIDATES = 2000
_ORDER = {"strong": 0, "weak": 1, "possible": 2, "format": 3}
LABELS = {
    "email": "e-mail addresses",
    "phone": "telephone numbers",
    "fodselsnummer": "Norwegian fødselsnummer (national identity numbers)",
    "personnummer": "Swedish personnummer (national identity numbers)",
    "cpr": "Danish CPR numbers (national identity numbers)",
    "steuer-id": "German tax identification numbers (Steuer-ID)",
    "sozialversicherungsnummer": "German social insurance numbers",
    "dni": "Spanish DNI numbers (national identity numbers)",
    "nie": "Spanish NIE numbers (foreigners' identity numbers)",
    "nhs": "UK NHS numbers",
    "credit-card": "credit card numbers",
    "ip-address": "IP addresses",
    "birth-date": "full dates (day, month and year), possibly dates of birth",
    "street-address": "street addresses",
    "person-name": "names of persons",
    "handle": "login names or @handles",
    "genetic": "genetic information",
    "image": "images or other binary data",
}
REMEDIES = {
    "birth-date": "Dates of birth must be kept as month and year only (YYYY-MM); other full "
    "dates belong in a date variable of the dictionary.",
    "street-address": "Addresses must not be stored; keep a general location only.",
}
#: Words in a column name that say its dates are of an event, not of birth.
EVENT_WORDS = frozenset(
    [
        "visit",
        "visits",
        "exam",
        "examination",
        "scan",
        "mri",
        "pet",
        "test",
        "testing",
        "assessment",
        "interview",
        "inclusion",
        "consent",
        "sample",
        "sampling",
        "collection",
        "collected",
        "baseline",
        "followup",
        "besok",
        "undersokelse",
        "inklusjon",
        "samtykke",
        "prove",
        "untersuchung",
        "besuch",
        "visita",
        "consulta",
        "examen",
        "prueba",
        "created",
        "updated",
        "modified",
        "export",
        "exported",
        "timestamp",
        "time",
    ]
)


def name_findings(frame: pl.DataFrame, plans: list[Plan]) -> list[Finding]:
    """Columns the dictionary lacks whose names suggest personal data."""
    hits = [(plan, screen_name(plan.name)) for plan in plans if plan.variable is None]
    named = [(plan, hit) for plan, hit in hits if hit is not None]
    if not named:
        return []
    exprs = []
    for k, (plan, _) in enumerate(named):
        exprs.append(plan.present.sum().alias(f"n{k}"))
        exprs.append(pl.col(plan.name).filter(plan.present).first().alias(f"v{k}"))
    row = frame.lazy().select(exprs).collect().row(0, named=True)
    findings = []
    for k, (plan, hit) in enumerate(named):
        first = row[f"v{k}"]
        findings.append(
            Finding(
                hit.rule.severity,
                f"{PERSONAL_DATA}.column-name",
                plan.name,
                int(row[f"n{k}"]),
                mask(str(first)) if first else "",
                f"The column name suggests {hit.rule.what} (it matches {hit.term!r}); such data "
                "must not be stored. Remove the column, or rename it if it holds something else.",
            )
        )
    return findings


@dataclass
class _Tally:
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_ORDER, 0))
    examples: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)  # the whole cell of each example
    notes: dict[str, str] = field(default_factory=dict)
    distinct: dict[str, set[str]] = field(default_factory=dict)

    def add(self, hit: Hit, value: str, count: int) -> None:
        self.rows[hit.strength] += count
        self.examples.setdefault(hit.strength, hit.text)
        self.values.setdefault(hit.strength, value)
        if hit.note:
            self.notes.setdefault(hit.strength, hit.note)
        seen = self.distinct.setdefault(hit.strength, set())
        if len(seen) < 10:
            seen.add(hit.text)


def content_findings(
    frame: pl.DataFrame, plans: list[Plan], results: dict[str, Any]
) -> list[Finding]:
    screened = [p for p in plans if needs_screen(p, results, frame.height)]
    if not screened:
        return []
    masks, counts, exprs = [], [], []
    for k, plan in enumerate(screened):
        cells = plan.written.filter(pl.col(f"{INTERNAL}screen{k}")).alias(plan.name)
        candidates = cells.filter(cells.str.contains(UNION_GATE))
        masks.append(plan.screen.alias(f"{INTERNAL}screen{k}"))
        counts.append(candidates.value_counts(sort=True, name=COUNT).implode().alias(plan.name))
        exprs.append(pl.col(plan.name).list.head(CANDIDATES))
        exprs.append(pl.col(plan.name).list.len().alias(f"distinct:{plan.name}"))
    query = frame.lazy().with_columns(masks).select(counts).select(exprs)
    row = query.collect().row(0, named=True)
    found: list[tuple[Finding, str]] = []
    for plan in screened:
        pairs = [(str(item[plan.name]), int(item[COUNT])) for item in row[plan.name]]
        if not pairs:
            continue
        complete = len(pairs) >= int(row[f"distinct:{plan.name}"])
        present = plan.present_count(results, frame.height)
        found += _column(plan, pairs, present, complete)
    return _with_rows(frame, found, {plan.name: plan.written for plan in screened})


def _with_rows(
    frame: pl.DataFrame, found: list[tuple[Finding, str]], texts: dict[str, pl.Expr]
) -> list[Finding]:
    """Each finding with the first row holding its example (one query for all)."""
    if not found:
        return []
    firsts = (
        frame.lazy()
        .select(
            (texts[str(f.column)] == value).arg_true().first().alias(str(k))
            for k, (f, value) in enumerate(found)
        )
        .collect()
        .row(0)
    )
    return [
        replace(f, row=None if first is None else int(first) + 2)
        for (f, _), first in zip(found, firsts, strict=True)
    ]


def _column(
    plan: Plan, pairs: list[tuple[str, int]], present: int, complete: bool
) -> list[tuple[Finding, str]]:
    skip = (
        frozenset({"birth-date"})
        if plan.variable and plan.variable.type is FieldType.DATE
        else frozenset()
    )
    tallies: dict[str, _Tally] = {}
    for value, count in pairs:
        for name, hits in scan_value(value, skip=skip).items():
            best = min(hits, key=lambda h: _ORDER[h.strength])
            tallies.setdefault(name, _Tally()).add(best, value, count)
    findings = []
    for name, tally in tallies.items():
        decided = _decide(BY_NAME[name], tally, present)
        if decided is None:
            continue
        severity, strength, rows = decided
        if name == "birth-date" and severity == "error" and _event_column(plan.name):
            severity = "warning"
        findings.append(
            (
                _finding(plan.name, BY_NAME[name], tally, severity, strength, rows, complete),
                tally.values[strength],
            )
        )
    return findings


def _decide(detector: Detector, tally: _Tally, present: int) -> tuple[Severity, str, int] | None:
    rows = tally.rows
    if rows["strong"]:
        return "error", "strong", rows["strong"]
    base = (
        present
        if detector.share_of == "column"
        else rows["weak"] + rows["possible"] + rows["format"]
    )
    if base <= 0:
        return None
    weak_distinct = len(tally.distinct.get("weak", ()))
    if (
        rows["weak"]
        and rows["weak"] >= detector.share * base
        and weak_distinct >= detector.min_distinct
    ):
        return "error", "weak", rows["weak"]
    if rows["possible"] and rows["possible"] + rows["weak"] >= detector.share * base:
        return "warning", "possible", rows["possible"] + rows["weak"]
    return None


def _event_column(name: str) -> bool:
    return bool(set(normalise(name)) & EVENT_WORDS)


def _finding(
    column: str,
    detector: Detector,
    tally: _Tally,
    severity: Severity,
    strength: str,
    rows: int,
    complete: bool,
) -> Finding:
    label = LABELS.get(detector.name, detector.category)
    counted = f"{rows}" if complete else f"at least {rows}"
    note = tally.notes.get(strength)
    if strength == "possible":
        message = (
            f"Possible {label}: {counted} row(s) look like one ({note}). Check the "
            "column; personal identity numbers must not be stored."
        )
    elif severity == "warning":
        message = (
            f"{counted} row(s) hold full dates in a column named for an event; if any "
            "is a date of birth, keep only its month and year."
        )
    else:
        extra = f" ({note})" if note else ""
        remedy = REMEDIES.get(detector.name, "Such data must not be stored; remove it.")
        message = (
            f"Personal data: {label}{extra} in {counted} row(s). {remedy} Rule: {detector.rule}."
        )
    return Finding(
        severity,
        f"{PERSONAL_DATA}.{detector.name}",
        column,
        rows,
        mask(tally.examples.get(strength, "")),
        message,
    )
