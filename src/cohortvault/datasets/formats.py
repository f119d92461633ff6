"""CSV that spreadsheets open safely, written batch by batch from Arrow (no row-by-row Python).

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be run
as a formula by a spreadsheet (CSV injection), so it gets a leading ``'``, as
``quality.model.safe_cell`` does; a cell that is a plain number (``-99``, ``+1.5``) cannot be a
formula and is left alone. Numbers, booleans and dates are written as values (``true``,
``2021-03-04``), nulls as empty cells.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

__all__ = ["ExportFormat", "csv_bytes", "csv_chunks", "neutralised", "safe_table"]

FORMULA_START = r"^[=+\-@\t\r]"
PLAIN_NUMBER = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
BATCH_ROWS = 65_536


class ExportFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"

    @property
    def media_type(self) -> str:
        if self is ExportFormat.CSV:
            return "text/csv; charset=utf-8"
        return "application/vnd.apache.parquet"


def neutralised(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Text cells a spreadsheet would execute, defused with a leading ``'``."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return column
    risky = pc.and_(
        pc.match_substring_regex(column, FORMULA_START),
        pc.invert(pc.match_substring_regex(column, PLAIN_NUMBER)),
    )
    if not pc.any(risky).as_py():
        return column
    return pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)


def safe_table(table: pa.Table) -> pa.Table:
    return pa.Table.from_arrays([neutralised(c) for c in table.columns], names=table.column_names)


def csv_bytes(table: pa.Table, *, header: bool = True) -> bytes:
    sink = pa.BufferOutputStream()
    options = pacsv.WriteOptions(include_header=header)
    pacsv.write_csv(safe_table(table), sink, write_options=options)
    return bytes(sink.getvalue().to_pybytes())


def csv_chunks(table: pa.Table, *, rows: int = BATCH_ROWS) -> Iterator[bytes]:
    """The table as CSV with a header line, ``rows`` rows per chunk."""
    if table.num_rows == 0:
        yield csv_bytes(table)
        return
    for start in range(0, table.num_rows, rows):
        yield csv_bytes(table.slice(start, rows), header=start == 0)
