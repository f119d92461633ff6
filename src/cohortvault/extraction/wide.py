"""The wide layout: one row per subject, a column ``<variable>__<timepoint>`` for each
variable and timepoint; a variable with one value per subject (from a subject-level table,
or made from such variables row by row) keeps a single column."""

from __future__ import annotations

from cohortvault.extraction.columns import Column, literal, quoted


def wide_sql(columns: list[Column], timepoints: list[str]) -> str:
    """Pivot the rows of the ``long`` query (DuckDB conditional aggregates)."""
    items = ["site", "subject_id"]
    for column in columns:
        name = quoted(column.name)
        if column.subject_level:
            items.append(f"any_value({name}) AS {name}")
            continue
        items += [
            f"any_value({name}) FILTER (WHERE timepoint = {literal(timepoint)}) "
            f"AS {quoted(column.at(timepoint).name)}"
            for timepoint in timepoints
        ]
    return (
        f"SELECT {', '.join(items)} FROM long GROUP BY site, subject_id ORDER BY site, subject_id"  # noqa: S608
    )


def wide_columns(columns: list[Column], timepoints: list[str]) -> list[Column]:
    """The delivered columns of the wide layout, in the order ``wide_sql`` makes them."""
    wide: list[Column] = []
    for column in columns:
        if column.subject_level:
            wide.append(column)
        else:
            wide += [column.at(timepoint) for timepoint in timepoints]
    return wide
