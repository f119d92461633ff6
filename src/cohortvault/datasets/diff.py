"""What changed between two versions of a dataset, cell by cell, computed by DuckDB.

Rows are matched by their key (subject_id, timepoint). A row whose key is only in the new
version was added, one only in the old version removed. A column only in one of them was
added or removed; its cells are not listed one by one. Every cell of a column both versions
have, in a row both versions have, is compared null-safely (``IS DISTINCT FROM``): as values
of its type when the column kept its type (or moved between integer and number, compared as
numbers), as text when its type changed (such a column is also listed as retyped). Changed
cells are reported with both values as text, in key order and the new version's column order.

The comparison never loops over rows in Python: DuckDB anti-joins the keys for added and
removed rows, and when rows were added or removed the common rows of both versions are
aligned (a key join, then ``take``); one ``POSITIONAL JOIN`` query per column, all in one
``UNION ALL``, then finds the changed cells.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cohortvault.datasets import formats
from cohortvault.datasets.keys import KEY, sorted_by_key

__all__ = ["LINE_COLUMNS", "PAGE_LIMIT", "Diff", "Retyped", "compare"]

#: How many changes (and added or removed rows) a page shows; CSV and JSON carry them all.
PAGE_LIMIT = 500
LINE_COLUMNS = ("kind", "subject_id", "timepoint", "column", "old", "new")
TYPE_NAMES = {
    "int64": "integer",
    "double": "number",
    "bool": "boolean",
    "date32[day]": "date",
    "string": "string",
    "large_string": "string",
    "string_view": "string",
}


def _keys_schema() -> pa.Schema:
    return pa.schema([(k, pa.string()) for k in KEY])


def _changes_schema() -> pa.Schema:
    return pa.schema([(k, pa.string()) for k in (*KEY, "column", "old", "new")])


@dataclass(frozen=True)
class Retyped:
    column: str
    old: str
    new: str


@dataclass(frozen=True)
class Diff:
    """Cell-level differences from version ``old`` to version ``new``.

    ``rows_added`` and ``rows_removed`` are Arrow tables of keys; ``changes`` one of
    (subject_id, timepoint, column, old, new), every value as text (null for a null cell).
    """

    old: int
    new: int
    columns_added: tuple[str, ...]
    columns_removed: tuple[str, ...]
    columns_retyped: tuple[Retyped, ...]
    rows_added: pa.Table
    rows_removed: pa.Table
    changes: pa.Table
    site: str = ""
    study: str = ""
    rows_changed: int = 0

    @property
    def totals(self) -> dict[str, int]:
        return {
            "rows_added": self.rows_added.num_rows,
            "rows_removed": self.rows_removed.num_rows,
            "rows_changed": self.rows_changed,
            "cells_changed": self.changes.num_rows,
            "columns_added": len(self.columns_added),
            "columns_removed": len(self.columns_removed),
            "columns_retyped": len(self.columns_retyped),
        }

    @property
    def empty(self) -> bool:
        return not any(self.totals.values())

    def summary(self) -> str:
        if self.empty:
            return "no changes"
        words = {
            "rows_added": "row(s) added",
            "rows_removed": "row(s) removed",
            "cells_changed": "cell(s) changed",
            "columns_added": "column(s) added",
            "columns_removed": "column(s) removed",
            "columns_retyped": "column(s) retyped",
        }
        totals = self.totals
        return ", ".join(f"{totals[k]} {w}" for k, w in words.items() if totals[k])

    def to_dict(self, *, limit: int | None = None) -> dict[str, Any]:
        """Everything as plain data; with ``limit``, at most that many changes and rows of each
        kind (``truncated`` says whether some were left out)."""

        def cut(table: pa.Table) -> list[dict[str, Any]]:
            shown = table if limit is None else table.slice(0, limit)
            rows: list[dict[str, Any]] = shown.to_pylist()
            return rows

        return {
            "site": self.site,
            "study": self.study,
            "old": self.old,
            "new": self.new,
            "summary": self.summary(),
            "totals": self.totals,
            "columns_added": list(self.columns_added),
            "columns_removed": list(self.columns_removed),
            "columns_retyped": [r.__dict__ for r in self.columns_retyped],
            "rows_added": cut(self.rows_added),
            "rows_removed": cut(self.rows_removed),
            "changes": cut(self.changes),
            "truncated": limit is not None and self.truncated_at(limit),
        }

    def truncated_at(self, limit: int = PAGE_LIMIT) -> bool:
        """Would showing ``limit`` of each kind leave something out?"""
        counts = (self.changes.num_rows, self.rows_added.num_rows, self.rows_removed.num_rows)
        return any(int(count) > limit for count in counts)

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), ensure_ascii=False).encode("utf-8")

    def lines(self) -> pa.Table:
        """One line per change: kind, subject_id, timepoint, column, old, new."""
        parts = [
            _lines("column added", columns=self.columns_added),
            _lines("column removed", columns=self.columns_removed),
            _lines(
                "column retyped",
                columns=tuple(r.column for r in self.columns_retyped),
                old=[r.old for r in self.columns_retyped],
                new=[r.new for r in self.columns_retyped],
            ),
            _row_lines("row removed", self.rows_removed),
            _row_lines("row added", self.rows_added),
            _change_lines(self.changes),
        ]
        return pa.concat_tables(parts)

    def csv_chunks(self) -> Iterator[bytes]:
        """The lines as spreadsheet-safe CSV, with a header line."""
        return formats.csv_chunks(self.lines())

    def to_csv(self) -> bytes:
        return b"".join(self.csv_chunks())


def _lines(
    kind: str,
    *,
    columns: tuple[str, ...],
    old: list[str] | None = None,
    new: list[str] | None = None,
) -> pa.Table:
    n = len(columns)
    nothing = pa.nulls(n, pa.string())
    return pa.table(
        {
            "kind": pa.array([kind] * n, pa.string()),
            "subject_id": nothing,
            "timepoint": nothing,
            "column": pa.array(columns, pa.string()),
            "old": pa.array(old, pa.string()) if old is not None else nothing,
            "new": pa.array(new, pa.string()) if new is not None else nothing,
        }
    )


def _row_lines(kind: str, rows: pa.Table) -> pa.Table:
    n = rows.num_rows
    nothing = pa.nulls(n, pa.string())
    return pa.table(
        {
            "kind": pa.repeat(pa.scalar(kind), n),
            "subject_id": rows["subject_id"],
            "timepoint": rows["timepoint"],
            "column": nothing,
            "old": nothing,
            "new": nothing,
        }
    )


def _change_lines(changes: pa.Table) -> pa.Table:
    kind = pa.repeat(pa.scalar("changed"), changes.num_rows)
    return pa.table({"kind": kind, **{name: changes[name] for name in LINE_COLUMNS[1:]}})


# --- computing it ----------------------------------------------------------------------------


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _type_name(kind: pa.DataType) -> str:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return TYPE_NAMES.get(str(kind), str(kind))


def _numeric(kind: pa.DataType) -> bool:
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))


def _keys(table: pa.Table) -> pa.Table:
    return pa.table({k: pc.cast(table[k], pa.string()) for k in KEY})


def _spare_name(*tables: pa.Table) -> str:
    taken = {n for t in tables for n in t.column_names}
    name = "__row"
    while name in taken:
        name += "_"
    return name


def compare(
    old: pa.Table,
    new: pa.Table,
    *,
    old_number: int = 0,
    new_number: int = 0,
    site: str = "",
    study: str = "",
) -> Diff:
    """The differences from ``old`` to ``new`` (tables with subject_id and timepoint)."""
    old, new = sorted_by_key(old), sorted_by_key(new)
    old_names, new_names = set(old.column_names), set(new.column_names)
    added_columns = tuple(n for n in new.column_names if n not in old_names)
    removed_columns = tuple(n for n in old.column_names if n not in new_names)
    common = [n for n in new.column_names if n in old_names and n not in KEY]
    retyped = tuple(
        Retyped(n, _type_name(old.schema.field(n).type), _type_name(new.schema.field(n).type))
        for n in common
        if _type_name(old.schema.field(n).type) != _type_name(new.schema.field(n).type)
    )
    row = _spare_name(old, new)
    con = duckdb.connect()
    try:
        old_keys, new_keys = _keys(old), _keys(new)
        con.register("old_keys", old_keys.append_column(row, _positions(old.num_rows)))
        con.register("new_keys", new_keys.append_column(row, _positions(new.num_rows)))
        if old_keys.equals(new_keys):  # the same rows (a correction, say): nothing to join
            nothing = (_keys_schema().empty_table(), pa.array([], pa.int64()))
            (rows_removed, removed_at), (rows_added, added_at) = nothing, nothing
        else:
            rows_removed, removed_at = _only_in(con, "old_keys", "new_keys", row)
            rows_added, added_at = _only_in(con, "new_keys", "old_keys", row)
        # Both are sorted by the key, so the rows they share are in the same order in both.
        aligned_old = _without(old.select(common), removed_at)
        aligned_new = _without(new.select(common), added_at)
        aligned_keys = _without(new_keys, added_at)
        changes, rows_changed = _changed_cells(
            con, aligned_old, aligned_new, aligned_keys, common, row
        )
    finally:
        con.close()
    return Diff(
        old=old_number,
        new=new_number,
        columns_added=added_columns,
        columns_removed=removed_columns,
        columns_retyped=retyped,
        rows_added=rows_added,
        rows_removed=rows_removed,
        changes=changes,
        site=site,
        study=study,
        rows_changed=rows_changed,
    )


def _positions(count: int) -> pa.Array:
    return pa.array(np.arange(count, dtype=np.int64))


def _only_in(
    con: duckdb.DuckDBPyConnection, these: str, those: str, row: str
) -> tuple[pa.Table, pa.Array]:
    """The keys of ``these`` that ``those`` lacks, in key order, and their row positions."""
    found = con.sql(
        f"SELECT subject_id, timepoint, {_quoted(row)} AS at FROM {these} "  # noqa: S608
        f"ANTI JOIN {those} USING (subject_id, timepoint) ORDER BY subject_id, timepoint"
    ).to_arrow_table()
    return found.select(list(KEY)).cast(_keys_schema()), found["at"].combine_chunks()


def _without(table: pa.Table, positions: pa.Array) -> pa.Table:
    """The table without the rows at ``positions``."""
    if len(positions) == 0:
        return table
    kept = pc.invert(pc.is_in(_positions(table.num_rows), value_set=positions))
    return table.filter(kept)


def _changed_cells(
    con: duckdb.DuckDBPyConnection,
    old: pa.Table,
    new: pa.Table,
    keys: pa.Table,
    common: list[str],
    row: str,
) -> tuple[pa.Table, int]:
    if not common or keys.num_rows == 0:
        return _changes_schema().empty_table(), 0
    con.register("a", old)
    con.register("b", new.append_column(row, _positions(new.num_rows)))
    selects = []
    for index, name in enumerate(common):
        column = _quoted(name)
        kinds = old.schema.field(name).type, new.schema.field(name).type
        same = _type_name(kinds[0]) == _type_name(kinds[1]) or all(_numeric(k) for k in kinds)
        a, b = f"a.{column}", f"b.{column}"
        if not same:
            a, b = f"{a}::VARCHAR", f"{b}::VARCHAR"
        selects.append(
            f"SELECT b.{_quoted(row)} AS r, {index}::INTEGER AS c, {a}::VARCHAR AS old, "  # noqa: S608
            f"{b}::VARCHAR AS new FROM a POSITIONAL JOIN b WHERE {a} IS DISTINCT FROM {b}"
        )
    found = con.sql(
        "SELECT * FROM (" + " UNION ALL ".join(selects) + ") ORDER BY r, c"  # noqa: S608
    ).to_arrow_table()
    where = found["r"].combine_chunks()
    changes = pa.table(
        {
            "subject_id": keys["subject_id"].take(where),
            "timepoint": keys["timepoint"].take(where),
            "column": pa.array(common, pa.string()).take(found["c"].combine_chunks()),
            "old": pc.cast(found["old"], pa.string()),
            "new": pc.cast(found["new"], pa.string()),
        }
    )
    rows_changed = int(pc.count_distinct(where).as_py()) if found.num_rows else 0
    return changes, rows_changed
