"""Column summaries for the data manager and the missingness matrix (variable × timepoint).

Summaries never show free-text values: only counts, numeric and date ranges, and the counts of
the dictionary's own category codes.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from cohortvault.catalog.schema import Dictionary
from cohortvault.quality.model import CategoryCount, ColumnSummary, Missingness, MissingnessCell
from cohortvault.quality.plans import TIMEPOINT_INDEX, Plan

TIMEPOINT = "timepoint"
NO_TIMEPOINT = "(none)"
MAX_TIMEPOINTS = 60


def columns(plans: list[Plan], results: dict[str, Any], rows: int) -> list[ColumnSummary]:
    return [_summary(plan, results, rows) for plan in plans]


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _summary(plan: Plan, results: dict[str, Any], rows: int) -> ColumnSummary:
    def value(key: str) -> Any:
        return results.get(plan.keys[key]) if key in plan.keys else None

    missing = {"": plan.count(results, "nulls")}
    for code in plan.codes:
        count = plan.code_count(results, code)
        if count:
            missing[code] = count
    labels = plan.variable.categories if plan.variable else {}
    categories = tuple(
        CategoryCount(code, labels.get(code, code), count)
        for code, count in plan.category_counts(results)
    )
    return ColumnSummary(
        name=plan.name,
        type=plan.kind,
        in_dictionary=plan.variable is not None,
        rows=rows,
        non_missing=plan.present_count(results, rows),
        missing=missing,
        minimum=_number(value("min")),
        maximum=_number(value("max")),
        mean=_number(value("mean")),
        earliest=value("earliest"),
        latest=value("latest"),
        categories=categories,
        other_values=plan.outside_count(results, rows),
    )


def index_timepoints(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[tuple[str, int]]]:
    """Number the (most frequent ``MAX_TIMEPOINTS``) timepoints in ``TIMEPOINT_INDEX`` so the
    conformance pass can count missing values per timepoint; [(timepoint, rows)] sorted."""
    if TIMEPOINT not in frame.columns:
        return frame.with_columns(pl.lit(0, dtype=pl.Int16).alias(TIMEPOINT_INDEX)), [
            (NO_TIMEPOINT, frame.height)
        ]
    counts = (
        frame.get_column(TIMEPOINT)
        .fill_null(NO_TIMEPOINT)
        .value_counts(sort=True, name="n")
        .head(MAX_TIMEPOINTS)
        .sort(TIMEPOINT)
    )
    points = [(str(t), int(n)) for t, n in counts.iter_rows()]
    index = {t: k for k, (t, _) in enumerate(points)}
    column = pl.col(TIMEPOINT).fill_null(NO_TIMEPOINT)
    coded = column.replace_strict(index, default=-1, return_dtype=pl.Int16)
    return frame.with_columns(coded.alias(TIMEPOINT_INDEX)), points


def missingness(
    plans: list[Plan],
    results: dict[str, Any],
    dictionary: Dictionary,
    site: str,
    timepoints: list[tuple[str, int]],
) -> Missingness:
    """Empty cells and missing-value codes per variable and timepoint, from the conformance
    pass; expected cells are those the dictionary expects from the site at that timepoint."""
    here = {p.name: p for p in plans if p.variable is not None and not p.variable.identifier}
    variables = [v for v in dictionary.variables if not v.identifier]
    absent = tuple(
        v.name for v in variables if v.name not in here and (not v.sites or site in v.sites)
    )
    cells: dict[str, dict[str, MissingnessCell]] = {}
    for variable in variables:
        plan = here.get(variable.name)
        if plan is None:
            continue
        row = cells.setdefault(variable.name, {})
        missing = plan.missing_at(results)
        for k, (point, rows) in enumerate(timepoints):
            expected = (not variable.timepoints or point in variable.timepoints) and (
                not variable.sites or site in variable.sites
            )
            row[point] = MissingnessCell(rows, missing.get(k, 0), expected)
    return Missingness(
        variables=tuple(cells),
        timepoints=tuple(t for t, _ in timepoints),
        cells=cells,
        absent=absent,
    )
