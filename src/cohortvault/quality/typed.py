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

MAX_REREAD = 100_000  # records; beyond this the typed read is not worth it
Texts = dict[str, pl.DataFrame]  # column -> (row, text) of the cells whose text matters
ROW, TEXT = "row", "text"


def schema(
    header: list[str], numbers: Mapping[str, pl.DataType], clean: Callable[[str], str]
) -> dict[str, pl.DataType]:
    """The typed columns by position name (``c0``, ``c1``, …), from the header as written."""
    return {f"c{i}": numbers[clean(n)] for i, n in enumerate(header) if clean(n) in numbers}


def reconcile(
    frame: pl.DataFrame,
    path: Path,
    cells: Cells,
    *,
    header_empty: int,
    parse: Callable[[io.BytesIO], pl.DataFrame],
) -> tuple[pl.DataFrame, Texts] | None:
    """The typed ``frame`` made exact, with the texts; None if the plain read is needed."""
    groups = cells.groups
    if not groups or groups[-1].last - 1 != frame.height or _quoted_header(path, cells.eol):
        return None
    typed = [name for name, kind in frame.schema.items() if kind.is_numeric()]
    bounds = np.array([max(g.first, 1) - 1 for g in groups] + [frame.height])  # data rows
    empty = (
        np.array([g.empty for g in groups])
        - np.array([g.first == 0 for g in groups]) * header_empty
    )
    unsure = np.array([g.unsure for g in groups])
    odd = _per_group(frame, _odd_columns(frame, typed), bounds, odd=True)
    if _counted_nulls(frame, groups, unsure) == int(empty[~unsure].sum()):
        suspect = unsure | (odd > 0)  # the counted groups have no cell that is not a number
    else:
        nulls = _per_group(frame, [c for c in frame.columns if frame[c].null_count()], bounds)
        suspect = unsure | (odd > 0) | (nulls != empty)
    reread = [g for g, flag in zip(groups, suspect, strict=True) if flag]
    if sum(g.last - max(g.first, 1) for g in reread) > MAX_REREAD:
        return None
    if not reread:
        return frame, {name: _no_texts() for name in typed}
    rows = np.concatenate([np.arange(max(g.first, 1) - 1, g.last - 1) for g in reread])
    text = parse(io.BytesIO(_records(path, groups[0], reread, cells.eol)))
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


def _quoted_header(path: Path, eol: int) -> bool:
    with path.open("rb") as handle:
        return b'"' in handle.read(1 << 20).split(bytes([eol]), 1)[0]


def _no_texts() -> pl.DataFrame:
    return pl.DataFrame({ROW: [], TEXT: []}, schema={ROW: pl.UInt32, TEXT: pl.String})


def _counted_nulls(frame: pl.DataFrame, groups: list[Group], unsure: np.ndarray) -> int:
    """The empty cells of the frame outside the groups the scan did not count."""
    total = sum(column.null_count() for column in frame.get_columns())
    for group, flag in zip(groups, unsure, strict=True):
        if flag:
            rows = frame.slice(max(group.first, 1) - 1, group.last - max(group.first, 1))
            total -= sum(column.null_count() for column in rows.get_columns())
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


def _per_group(
    frame: pl.DataFrame, columns: list[str], bounds: np.ndarray, *, odd: bool = False
) -> np.ndarray:
    """Per group of rows (``bounds``: their first rows, then the number of rows), the empty
    cells of ``columns``; with ``odd``, their big numbers and floats that are no number."""
    counts = np.zeros(len(bounds) - 1, dtype=np.int64)
    for name in columns:
        column = pl.col(name)
        if odd:
            flags = (column.abs() >= BIG_NUMBER) | ~column.cast(pl.Float64).is_finite()
            marked = flags.fill_null(False)
        else:
            marked = column.is_null()
        rows = frame.select(marked.arg_true()).to_series().to_numpy()
        counts += np.bincount(
            np.searchsorted(bounds, rows, side="right") - 1, minlength=len(counts)
        )[: len(counts)]
    return counts


def _records(path: Path, head: Group, groups: list[Group], eol: int) -> bytes:
    """The header, then the records of ``groups``, each group ending with a line end."""
    parts = []
    with path.open("rb") as handle:
        header = handle.read(head.stop - head.start) if head.first == 0 else b""
        end = header.find(bytes([eol]))
        parts.append(header[: end + 1])
        for group in groups:
            handle.seek(group.start)
            block = handle.read(group.stop - group.start)
            if group.first == 0:
                block = block[end + 1 :]
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
