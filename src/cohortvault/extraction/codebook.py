"""The codebook of a delivery, for people: every column with its label, type, unit,
categories, missing-value codes, the transforms that made it and how many values it holds."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from cohortvault.extraction.columns import ARROW_TYPES, Column
from cohortvault.extraction.engine import Result


def value_counts(result: Result) -> dict[str, int]:
    """Non-missing values per column: neither empty nor a missing-value code."""
    counts: dict[str, int] = {}
    for column in result.columns:
        data = result.table[column.name]
        present = len(data) - data.null_count
        codes = [c for c in column.value_codes() if not isinstance(c, bool)]
        if codes and present:
            found = pc.is_in(data, value_set=pa.array(codes, ARROW_TYPES[column.type]))
            present -= int(pc.sum(found).as_py() or 0)
        counts[column.name] = present
    return counts


def codebook(result: Result, counts: dict[str, int], *, title: str) -> str:
    schema = result.schema
    spec = result.spec
    rows = result.table.num_rows
    unit = "subject" if spec.layout == "wide" else "subject and timepoint"
    lines = [
        f"# Codebook: {title}",
        "",
        f"{rows:,} rows (one per {unit}), {len(result.columns)} columns, "
        f"data dictionary version {schema['cohortvault']['dictionaryVersion']}, "
        f"{spec.layout} layout. The data are in `data.csv` and `data.parquet`; "
        "`datapackage.json` describes them for software, `provenance.json` says where they "
        "came from.",
        "",
        "## Sources",
        "",
        "| site | study | version | checksum |",
        "| --- | --- | ---: | --- |",
        *(
            f"| {s.site} | {s.study} | {s.version} | `{s.checksum}` |"
            for s in sorted(spec.sources, key=lambda s: s.key)
        ),
        "",
    ]
    if spec.timepoints:
        lines += [f"Timepoints: {', '.join(spec.timepoints)}.", ""]
    if spec.transforms:
        lines += ["## Transforms", ""]
        lines += [f"{n}. {t.describe()}" for n, t in enumerate(spec.transforms, start=1)]
        lines.append("")
    if result.notes:
        lines += ["## Notes", ""]
        lines += [f"- {note.message}" for note in result.notes]
        lines.append("")
    lines += [
        "## Columns",
        "",
        "| column | label | type | unit | values |",
        "| --- | --- | --- | --- | ---: |",
        *(
            f"| `{c.name}` | {_cell(c.field.label)} | {c.type.value} | {_cell(c.field.unit)} "
            f"| {counts.get(c.name, 0):,} of {rows:,} |"
            for c in result.columns
        ),
        "",
    ]
    for column in result.columns:
        lines += _details(column, counts.get(column.name, 0), rows)
    return "\n".join(lines)


def _details(column: Column, count: int, rows: int) -> list[str]:
    field = column.field
    heading = f"### `{column.name}`" + (f": {field.label}" if field.label else "")
    facts: list[tuple[str, Any]] = [("type", field.type.value)]
    if field.unit:
        facts.append(("unit", field.unit))
    if field.description:
        facts.append(("description", field.description))
    if field.categories:
        codes = "; ".join(f"`{code}` {label}" for code, label in field.categories.items())
        facts.append(("categories", codes))
    if field.minimum is not None or field.maximum is not None:
        facts.append(("range", f"{_bound(field.minimum)} to {_bound(field.maximum)}"))
    missing = [f"`{c}`" if c else "empty" for c in field.missing_values]
    facts.append(("missing codes", ", ".join(missing) or "empty"))
    if column.timepoint:
        facts.append(("timepoint", column.timepoint))
    if column.subject_level:
        facts.append(("level", "one value per subject"))
    if column.transforms:
        facts.append(("derived from", ", ".join(column.derived_from)))
        facts.append(("transforms", "; ".join(column.transforms)))
    facts.append(("non-missing values", f"{count:,} of {rows:,}"))
    return [
        heading,
        "",
        "| | |",
        "| --- | --- |",
        *(f"| {name} | {_cell(str(value))} |" for name, value in facts),
        "",
    ]


def _bound(value: float | None) -> str:
    return "…" if value is None else f"{value:g}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
