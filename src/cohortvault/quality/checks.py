"""Quality control of a table against the data dictionary: the report of findings, column
summaries and missingness.

    report = check(table, dictionary, site="oslo", known_subjects=..., known_timepoints=...)

Passes over the data (each vectorised, all columns at once): the conformance pass (one Polars
``select``), identifiers (a group-by and a few filters), the candidates of the personal-data
screen (only columns whose gate matched), and the missingness matrix (one group-by).
"""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import polars as pl

from cohortvault.catalog.schema import Dictionary, FieldType
from cohortvault.quality import conformance, identifiers, screen, summaries, typed
from cohortvault.quality.detectors import scan_value
from cohortvault.quality.masking import mask, shorten
from cohortvault.quality.model import Finding, Missingness, Report, error, warning
from cohortvault.quality.plans import (
    TEXT_OF,
    Aggregates,
    Detail,
    Plan,
    details,
    needs_screen,
    prepare,
)
from cohortvault.quality.tables import Table

TYPE_NAMES = {
    FieldType.INTEGER: "whole numbers",
    FieldType.NUMBER: "numbers (with a decimal point)",
    FieldType.DATE: "dates as YYYY-MM-DD",
    FieldType.YEARMONTH: "year and month as YYYY-MM",
    FieldType.BOOLEAN: "true or false",
}
_GROUPS = (
    "read.",
    "personal-data",
    "duplicate-key",
    "other-site",
    "unknown-timepoint",
    "unknown-subject",
    "withdrawn-subject",
    "identifier-format",
    "missing-column",
    "unknown-column",
    "required",
    "type",
    "range",
    "category",
    "pattern",
    "formula",
    "dictionary",
)


def check(
    table: Table,
    dictionary: Dictionary,
    *,
    site: str,
    known_subjects: Iterable[str] | None = None,
    known_timepoints: Iterable[str] | None = None,
    withdrawn_subjects: Iterable[str] = (),
) -> Report:
    started = time.perf_counter()
    findings = list(table.findings)
    frame = table.frame
    if frame is None:
        return Report(
            _ordered(findings),
            [],
            Missingness(),
            table.detected,
            site,
            dictionary.version,
            time.perf_counter() - started,
        )
    names = frame.columns
    frame = _with_texts(frame, table.texts)
    owned = {identifiers.SITE}
    if known_timepoints is not None:
        owned.add(identifiers.TIMEPOINT)
    indexed, timepoints = summaries.index_timepoints(frame)
    agg = Aggregates()
    plans = conformance.plan(
        agg, indexed, dictionary, owned_by_identifiers=frozenset(owned), timepoints=len(timepoints)
    )
    rows = frame.height
    with ThreadPoolExecutor(max_workers=1) as pool:  # Polars leaves the cores part idle
        keys = pool.submit(
            identifiers.check,
            frame,
            site=site,
            known_subjects=known_subjects,
            known_timepoints=known_timepoints,
            withdrawn_subjects=withdrawn_subjects,
        )
        results = agg.run(indexed)
        inspected = prepare(
            frame, [p for p in plans if p.suspects(results, rows) or needs_screen(p, results, rows)]
        )
        issues = pool.submit(details, inspected, plans, results)  # while the screen's Python runs
        personal = screen.content_findings(inspected, plans, results)
        found = issues.result()
        key_findings = keys.result()
    findings += _columns(names, dictionary, site)
    findings += _conformance(plans, found)
    findings += key_findings
    findings += screen.name_findings(frame, plans)
    findings += personal
    formula_columns = {f.column for f in table.findings if f.check == "read.formula"}
    findings += _formulas(plans, found, formula_columns)
    return Report(
        findings=_ordered(findings),
        columns=summaries.columns(plans, results, frame.height),
        missingness=summaries.missingness(plans, results, dictionary, site, timepoints),
        detected=table.detected,
        site=site,
        dictionary_version=dictionary.version,
        seconds=time.perf_counter() - started,
    )


def _with_texts(frame: pl.DataFrame, texts: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """The frame with, for each number column with cells whose text matters, the column of
    that text (``TEXT_OF`` + its name; null elsewhere)."""
    columns = []
    for name, cells in texts.items():
        if cells.height:
            empty = pl.repeat(None, frame.height, dtype=pl.String, eager=True)
            rows, text = cells.get_column(typed.ROW), cells.get_column(typed.TEXT)
            column = empty.scatter(rows, text).alias(TEXT_OF + name)
            columns.append(typed.chunked_like(column, frame.get_column(name)))
    return frame.with_columns(columns) if columns else frame


def _ordered(findings: list[Finding]) -> list[Finding]:
    def key(f: Finding) -> tuple[int, int]:
        group = next((i for i, g in enumerate(_GROUPS) if f.check.startswith(g)), len(_GROUPS))
        return (0 if f.severity == "error" else 1, group)

    return sorted(findings, key=key)


def example(value: Any, *, dated: bool = False) -> str:
    """A value shown in a finding: masked where it may be personal data, and never long.
    ``dated``: the column is a date variable, whose dates are not personal data."""
    if value is None:
        return ""
    text = str(value)
    hits = scan_value(text, skip=frozenset({"birth-date"}) if dated else frozenset())
    if any(h.strength != "format" for found in hits.values() for h in found):
        return mask(text)
    return shorten(text, 60)


def _columns(names: list[str], dictionary: Dictionary, site: str) -> list[Finding]:
    findings = []
    known = dictionary.names
    for name in names:
        if dictionary.variable(name) is not None:
            continue
        hint = _closest(name, known, names)
        findings.append(
            error(
                "unknown-column",
                f"The column {name!r} is not a variable of the "
                f"dictionary (version {dictionary.version}).{hint}",
                column=name,
            )
        )
    expected = [v for v in dictionary.variables if not v.sites or site in v.sites]
    absent = [v for v in expected if v.name not in names]
    for variable in absent:
        if variable.required:
            findings.append(
                error(
                    "missing-column",
                    f"The required variable {variable.name!r} has no column.",
                    column=variable.name,
                )
            )
    optional = [v.name for v in absent if not v.required]
    if optional:
        shown = ", ".join(optional[:20]) + (
            f" and {len(optional) - 20} more" if len(optional) > 20 else ""
        )
        findings.append(
            warning(
                "missing-column",
                f"{len(optional)} variable(s) the dictionary "
                f"expects from this site have no column: {shown}.",
                example=optional[0],
            )
        )
    return findings


def _closest(name: str, known: tuple[str, ...], present: list[str]) -> str:
    candidates = [k for k in known if k not in present]
    folded = {k.casefold().replace("-", "_").replace(" ", "_"): k for k in candidates}
    simple = name.strip().casefold().replace("-", "_").replace(" ", "_")
    if simple in folded:
        return f" Did you mean {folded[simple]!r}?"
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.85)
    return f" Did you mean {close[0]!r}?" if close else ""


Found = dict[tuple[str, str], Detail]


def _issue(plan: Plan, found: Found, label: str) -> tuple[int, int, str] | None:
    detail = found.get((plan.name, label))
    if detail is None:
        return None
    dated = plan.variable is not None and plan.variable.type is FieldType.DATE
    return detail.count, detail.row, example(detail.value, dated=dated)


def _conformance(plans: list[Plan], found: Found) -> list[Finding]:
    findings: list[Finding] = []
    for plan in plans:
        variable = plan.variable
        if variable is None:
            continue
        if plan.pattern_invalid:
            findings.append(
                warning(
                    "dictionary",
                    f"The pattern of {plan.name!r} is not a valid "
                    f"regular expression ({plan.pattern_invalid}); it was not "
                    "checked.",
                    column=plan.name,
                )
            )
        if issue := _issue(plan, found, "required"):
            n, row, _ = issue
            findings.append(
                error(
                    "required",
                    f"{n} empty cell(s) in a required variable (first at row {row}).",
                    column=plan.name,
                    rows=n,
                    row=row,
                )
            )
        if issue := _issue(plan, found, "type"):
            n, row, shown = issue
            hint = (
                " Write decimals with a point, not a comma."
                if re.fullmatch(r"[+-]?\d+,\d+", shown)
                else ""
            )
            findings.append(
                error(
                    "type",
                    f"{n} value(s) are not {TYPE_NAMES[variable.type]} (first at row {row}).{hint}",
                    column=plan.name,
                    rows=n,
                    example=shown,
                    row=row,
                )
            )
        if issue := _issue(plan, found, "range"):
            n, row, shown = issue
            unit = f" {variable.unit}" if variable.unit else ""
            bounds = _bounds(variable.minimum, variable.maximum)
            findings.append(
                error(
                    "range",
                    f"{n} value(s) outside {bounds}{unit} (first at row {row}).",
                    column=plan.name,
                    rows=n,
                    example=shown,
                    row=row,
                )
            )
        if issue := _issue(plan, found, "category"):
            n, row, shown = issue
            codes = list(variable.categories)
            allowed = ", ".join(codes[:12]) + (" …" if len(codes) > 12 else "")
            findings.append(
                error(
                    "category",
                    f"{n} value(s) are not categories of the variable "
                    f"({allowed}) (first at row {row}).",
                    column=plan.name,
                    rows=n,
                    example=shown,
                    row=row,
                )
            )
        if issue := _issue(plan, found, "pattern"):
            n, row, shown = issue
            check_name = "identifier-format" if variable.identifier else "pattern"
            findings.append(
                error(
                    check_name,
                    f"{n} value(s) do not match the format "
                    f"{variable.pattern!r} (first at row {row}).",
                    column=plan.name,
                    rows=n,
                    example=shown,
                    row=row,
                )
            )
    return findings


def _bounds(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{_num(low)}–{_num(high)}"
    return f"≥ {_num(low)}" if low is not None else f"≤ {_num(high)}"


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _formulas(plans: list[Plan], found: Found, skip: set[str | None]) -> list[Finding]:
    findings = []
    for plan in plans:
        issue = _issue(plan, found, "formula")
        if issue is None or plan.name in skip:
            continue
        n, row, shown = issue
        findings.append(
            warning(
                "formula",
                f"{n} cell(s) start with =, +, - or @ and would run "
                f"as formulas in a spreadsheet (first at row {row}).",
                column=plan.name,
                rows=n,
                example=shown,
                row=row,
            )
        )
    return findings
