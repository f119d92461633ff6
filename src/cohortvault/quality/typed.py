"""The number columns of a CSV read as numbers, made exactly what a read as text and a cast
would give (see ``cells``): the records of every group of the scan whose typed empty cells
outnumber its empty fields, that the scan could not count, or that hold a number of nine or
more digits, are read again as text; their numbers are cast as the checks cast, and the text
of each cell that is not a number, or is a big number, is kept for the checks to show and
screen (``Table.texts``).

When too many records would be read again (a column written with decimal commas, say), the
typed read gives way to the plain read as text: the same result, without the speed.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import polars as pl

from cohortvault.quality.cells import Cells, Group
from cohortvault.quality.plans import BIG_NUMBER
from cohortvault.quality.tables import clean_name

MAX_REREAD = 100_000  # records; beyond this the typed read is not worth it
Texts = dict[str, pl.DataFrame]  # column -> (row, text) of the cells whose text matters
ROW, TEXT = "row", "text"


def schema(header: list[str], numbers: Mapping[str, pl.DataType]) -> dict[str, pl.DataType]:
    """The typed columns by position name (``c0``, ``c1``, …), from the header as written."""
    names = [clean_name(cell) for cell in header]
    return {f"c{i}": numbers[name] for i, name in enumerate(names) if name in numbers}


def reconcile(
    frame: pl.DataFrame,
    path: Path,
    cells: Cells,
    *,
    header_line: bytes,
    header_empty: int,
    parse: Callable[[io.BytesIO], pl.DataFrame],
) -> tuple[pl.DataFrame, Texts] | None:
    """The typed ``frame`` made exact, with the texts; None if the plain read is needed.
    ``header_line``: the file's first record, its line end included; ``header_empty``: its
    empty fields."""
    groups = cells.groups
    if not groups or groups[-1].last - 1 != frame.height or b'"' in header_line:
        return None
    typed = [name for name, kind in frame.schema.items() if kind.is_numeric()]
    bounds = np.array([g.rows[0] for g in groups] + [frame.height])
    empty = np.array([g.empty - (header_empty if g.first == 0 else 0) for g in groups])
    unsure = np.array([g.unsure for g in groups])
    odd = _per_group(frame, [_odd(frame, name) for name in _odd_columns(frame, typed)], bounds)
    if _counted_nulls(frame, groups, unsure) == int(empty[~unsure].sum()):
        suspect = unsure | (odd > 0)  # the counted groups have no cell that is not a number
    else:
        emptied = [pl.col(c).is_null() for c in frame.columns if frame[c].null_count()]
        suspect = unsure | (odd > 0) | (_per_group(frame, emptied, bounds) != empty)
    reread = [g for g, flag in zip(groups, suspect, strict=True) if flag]
    if sum(g.rows[1] - g.rows[0] for g in reread) > MAX_REREAD:
        return None
    if not reread:
        return frame, {name: _no_texts() for name in typed}
    rows = np.concatenate([np.arange(*g.rows) for g in reread])
    text = parse(io.BytesIO(_records(path, header_line, reread, cells.eol)))
    if text.height != len(rows):
        return None
    positions = pl.Series(ROW, rows, dtype=pl.UInt32)
    fixed, texts = [], {}
    for name in typed:
        raw = text.get_column(name)
        number = raw.cast(frame.schema[name], strict=False)
        column = frame.get_column(name)
        if number.ne_missing(column.gather(positions)).any():
            fixed.append(chunked_like(column.scatter(positions, number), column))
        decimal = number.cast(pl.Float64)
        odd_cells = (~decimal.is_finite() | (decimal.abs() >= BIG_NUMBER)).fill_null(True)
        kept = raw.is_not_null() & odd_cells
        texts[name] = pl.DataFrame({ROW: positions.filter(kept), TEXT: raw.filter(kept)})
    frame = frame.with_columns(fixed)
    shown = pl.concat([t.get_column(ROW) for t in texts.values()]).unique()
    nothing = pl.all_horizontal(pl.all().is_null()).gather(shown)
    if frame.select(nothing.any()).item():
        return None  # a row of nothing but cells that are not numbers: the plain read says
    return frame, texts


def _no_texts() -> pl.DataFrame:
    return pl.DataFrame({ROW: [], TEXT: []}, schema={ROW: pl.UInt32, TEXT: pl.String})


def _counted_nulls(frame: pl.DataFrame, groups: list[Group], unsure: np.ndarray) -> int:
    """The empty cells of the frame outside the groups the scan did not count."""
    total = sum(column.null_count() for column in frame.get_columns())
    for group, flag in zip(groups, unsure, strict=True):
        if flag:
            start, stop = group.rows
            total -= sum(column.null_count() for column in frame[start:stop].get_columns())
    return total


def _odd_columns(frame: pl.DataFrame, typed: list[str]) -> list[str]:
    """The number columns with a big number, or (floats) a value that is no number."""
    if not typed:
        return []
    tests = []
    for name in typed:
        column = pl.col(name)
        if frame.schema[name].is_float():  # nan_max is NaN where a NaN is; inf is big
            high, low = column.nan_max(), column.nan_min()
            odd = high.is_nan() | (high >= BIG_NUMBER) | (low <= -BIG_NUMBER)
        else:
            odd = (column.max() >= BIG_NUMBER) | (column.min() <= -BIG_NUMBER)
        tests.append(odd.fill_null(False).alias(name))
    row = frame.select(tests).row(0, named=True)
    return [name for name in typed if row[name]]


def _odd(frame: pl.DataFrame, name: str) -> pl.Expr:
    """The cells of a number column that are big numbers or (floats) no number."""
    column = pl.col(name)
    big = column.abs() >= BIG_NUMBER
    return (big | ~column.is_finite() if frame.schema[name].is_float() else big).fill_null(False)


def _per_group(frame: pl.DataFrame, masks: list[pl.Expr], bounds: np.ndarray) -> np.ndarray:
    """The cells of ``masks`` per group of rows (``bounds``: their first rows, then the number
    of rows)."""
    counts = np.zeros(len(bounds) - 1, dtype=np.int64)
    for mask in masks:
        rows = frame.select(mask.arg_true()).to_series().to_numpy()
        groups = np.searchsorted(bounds, rows, side="right") - 1
        counts += np.bincount(groups, minlength=len(counts))[: len(counts)]
    return counts


def _records(path: Path, header_line: bytes, groups: list[Group], eol: int) -> bytes:
    """The header, then the records of ``groups``, each group ending with a line end."""
    parts = [header_line]
    with path.open("rb") as handle:
        for group in groups:
            handle.seek(group.start)
            block = handle.read(group.stop - group.start)
            if group.first == 0:
                block = block[len(header_line) :]
            if block and block[-1] != eol:
                block += bytes([eol])
            parts.append(block)
    return b"".join(parts)


def chunked_like(series: pl.Series, model: pl.Series) -> pl.Series:
    """``series`` in the chunks of ``model``: Polars copies every column of a frame whose
    columns are chunked differently to align them, in each query."""
    pieces, start = [], 0
    for length in model.chunk_lengths():
        pieces.append(series.slice(start, length))
        start += length
    return pl.concat(pieces, rechunk=False) if len(pieces) > 1 else series
