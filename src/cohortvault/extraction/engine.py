"""Running an extraction: from the named sites' typed tables to one delivered table, its Table
Schema and notes on what was missing.

Each site's rows come from its visit-level tables (those with a ``timepoint`` column; the
studies of one site are matched on subject and timepoint), in key order, with the columns of
its subject-level tables (no ``timepoint``: one row per subject, such as demographics) looked
up by ``subject_id``. The columns are Arrow's, reused as they are wherever no row is dropped,
reordered or retyped, so a delivery costs little more memory than its new columns. The sites
are stacked in order of their names (so the rows are sorted by site, subject and timepoint),
the transforms computed with Polars (z-scores as window aggregates, which keep the row order),
and for the wide layout the rows are pivoted to one per subject by DuckDB.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from cohortvault.catalog.schema import Dictionary, Variable
from cohortvault.extraction.columns import Column, dictionary_column
from cohortvault.extraction.derive import derive
from cohortvault.extraction.rows import Note, site_rows, sites_of, subject_level
from cohortvault.extraction.spec import Extraction
from cohortvault.extraction.wide import wide_columns, wide_sql

LONG_KEY = ("site", "subject_id", "timepoint")
WIDE_KEY = ("site", "subject_id")


@dataclass(frozen=True)
class Result:
    """The delivered table, the Table Schema of exactly its columns, and notes."""

    table: pa.Table
    schema: dict[str, Any]
    notes: tuple[Note, ...]
    spec: Extraction
    columns: tuple[Column, ...] = field(repr=False)  # as delivered, in the table's order

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(self.schema["primaryKey"])


def extract(
    spec: Extraction, tables: Mapping[tuple[str, str], pa.Table], dictionary: Dictionary
) -> Result:
    """Deliver ``spec`` from ``tables`` (one typed table per (site, study) the spec names).

    Raises ``SpecError`` if the spec does not fit the dictionary or the tables do not match
    its sources, and ``cohortvault.errors.Invalid`` if a visit table's key (subject_id,
    timepoint) has empty or repeated values. A site lacking a selected variable delivers empty
    cells, and a requested timepoint a site does not have delivers no rows; both are noted.
    """
    spec.validate(dictionary)
    sites = sites_of(spec, tables)
    notes: list[Note] = []
    columns: dict[str, Column] = {}
    for name in spec.variables:
        variable = dictionary.variable(name)
        assert variable is not None  # validated
        column = dictionary_column(variable, dictionary)
        columns[name] = Column(column.field, subject_level=subject_level(name, sites))
    rows = pa.concat_tables([site_rows(site, spec, columns, notes) for site in sites])
    rows = _transformed(rows, spec, columns)
    delivered = list(columns.values())
    primary: tuple[str, ...]
    if spec.layout == "wide":
        timepoints = list(spec.timepoints) or _timepoints(rows)
        table = _pivoted(rows, delivered, timepoints)
        out_columns, primary = wide_columns(delivered, timepoints), WIDE_KEY
    else:
        timepoints = list(spec.timepoints)
        table, out_columns, primary = rows, delivered, LONG_KEY
    identifiers = [dictionary_column(v, dictionary) for v in _identifiers(dictionary, primary)]
    schema = {
        "fields": [c.to_field(required=True) for c in identifiers]
        + [c.to_field() for c in out_columns],
        "missingValues": list(dictionary.missing_values),
        "primaryKey": list(primary),
        "cohortvault": {
            "dictionaryVersion": dictionary.version,
            "layout": spec.layout,
            "timepoints": timepoints,
        },
    }
    return Result(
        table=table,
        schema=schema,
        notes=tuple(notes),
        spec=spec,
        columns=(*identifiers, *out_columns),
    )


def _identifiers(dictionary: Dictionary, names: tuple[str, ...]) -> list[Variable]:
    return [v for n in names if (v := dictionary.variable(n)) is not None]


def _transformed(rows: pa.Table, spec: Extraction, columns: dict[str, Column]) -> pa.Table:
    """``rows`` with the transforms' columns, in order: a transform writing a selected
    variable replaces it, the others are added after the selected variables. Transforms are
    computed in stages; one that reads what another writes waits for the next stage."""
    stages: list[list[pl.Expr]] = [[]]
    written: set[str] = set()
    for transform in spec.transforms:
        if written & set(transform.inputs):
            stages.append([])
            written = set()
        expression, column = derive(transform, columns)
        stages[-1].append(expression.alias(transform.target))
        columns[transform.target] = column
        written.add(transform.target)
    if not spec.transforms:
        return rows
    needed = {"site", "timepoint"}
    for transform in spec.transforms:
        needed.update(transform.inputs)
    frame = pl.from_arrow(rows.select([n for n in rows.column_names if n in needed]))
    assert isinstance(frame, pl.DataFrame)
    for stage in stages:
        frame = frame.with_columns(stage)
    for transform in spec.transforms:
        name = transform.target
        values = _plain(frame.get_column(name).to_arrow())
        if name in rows.column_names:
            rows = rows.set_column(rows.column_names.index(name), name, values)
        else:
            rows = rows.append_column(name, values)
    return rows


def _timepoints(rows: pa.Table) -> list[str]:
    found = pc.unique(rows["timepoint"]).to_pylist()
    return sorted((str(t) for t in found if t is not None), key=_natural)


def _pivoted(rows: pa.Table, columns: list[Column], timepoints: list[str]) -> pa.Table:
    con = duckdb.connect()
    try:
        con.register("long", rows)
        table = con.sql(wide_sql(columns, timepoints)).to_arrow_table()
    finally:
        con.close()
    schema = pa.schema([pa.field(f.name, _plain_type(f.type)) for f in table.schema])
    return table if schema == table.schema else table.cast(schema)


def _natural(text: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text)]


def _plain_type(kind: pa.DataType) -> pa.DataType:
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return pa.string()
    return kind


def _plain(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Strings as ``string``, whatever Polars or DuckDB hand back (large strings, views)."""
    kind = _plain_type(values.type)
    return values if kind == values.type else values.cast(kind)
