"""SPSS ``.sav``/``.zsav`` and Stata ``.dta`` (pyreadstat), R ``.rds`` (pyreadr).

Values become text as written: whole numbers without ``.0``, dates ``YYYY-MM-DD``, factors by
their labels (R) and labelled numbers by their codes (SPSS, Stata), whose labels are kept in
``Detected.value_labels``; SPSS user-missing codes are kept as values and listed in
``Detected.missing_codes``. A compressed ``.rds`` is unpacked once, counting, before pyreadr
reads it, so a small file that unpacks to gigabytes is refused.
"""

from __future__ import annotations

import bz2
import lzma
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import polars as pl
import pyreadr
import pyreadstat

from cohortvault.quality.model import Detected, Finding, error
from cohortvault.quality.tables import (
    MIB,
    Limits,
    Table,
    describe_exception,
    finish,
    size_text,
    too_many_columns,
    too_many_rows,
    unreadable,
)

NAMES = {"sav": "SPSS", "dta": "Stata", "rds": "R"}


def read_statistics_file(
    path: Path, *, kind: Literal["sav", "dta"], size: int, limits: Limits
) -> Table:
    detected = Detected(format=kind, size=size)
    reader = pyreadstat.read_sav if kind == "sav" else pyreadstat.read_dta
    options: dict[str, Any] = {"user_missing": True} if kind == "sav" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _, meta = reader(str(path), metadataonly=True, output_format="dict")
            rows = int(meta.number_rows or 0)
            if rows > limits.max_rows:
                return unreadable(detected, too_many_rows(rows, limits))
            columns = int(meta.number_columns or 0)
            if columns > limits.max_columns:
                return unreadable(detected, too_many_columns(columns, limits))
            frame, meta = reader(str(path), output_format="polars", **options)
        except Exception as exc:
            return unreadable(detected, _damaged(kind, exc))
    detected = Detected(
        format=kind,
        size=size,
        encoding=getattr(meta, "file_encoding", None),
        variable_labels={k: str(v) for k, v in (meta.column_names_to_labels or {}).items() if v},
        value_labels={
            column: {_number_text(code): str(label) for code, label in labels.items()}
            for column, labels in (meta.variable_value_labels or {}).items()
        },
        missing_codes=_missing_codes(getattr(meta, "missing_ranges", None) or {}),
    )
    return finish(as_text(frame), list(frame.columns), detected, [], limits)


def read_rds(path: Path, *, size: int, limits: Limits) -> Table:
    detected = Detected(format="rds", size=size)
    problem = _unpack_problem(path, limits)
    if problem is not None:
        return unreadable(detected, problem)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            objects = pyreadr.read_r(str(path), output_format="polars")
        except Exception as exc:
            return unreadable(detected, _damaged("rds", exc))
    frames = [o for o in objects.values() if isinstance(o, pl.DataFrame)]
    if len(frames) != 1:
        return unreadable(
            detected,
            error(
                "read.unreadable",
                "The .rds file does not hold one data frame; save it with saveRDS(data_frame).",
            ),
        )
    frame = frames[0]
    if frame.height > limits.max_rows:
        return unreadable(detected, too_many_rows(frame.height, limits))
    frame = _without_default_rownames(frame)
    return finish(as_text(frame), list(frame.columns), detected, [], limits)


def _damaged(kind: str, exc: BaseException) -> Finding:
    return error(
        "read.unreadable",
        f"The {NAMES[kind]} file is damaged, truncated or not a "
        f"valid {NAMES[kind]} file ({describe_exception(exc)}).",
    )


def as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Every column as text as written; NaN and empty strings become empty cells."""
    columns = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if dtype.is_float():
            whole = column.is_finite() & (column == column.round(0)) & (column.abs() < 1e15)
            text = (
                pl.when(column.is_nan())
                .then(None)
                .when(whole)
                .then(column.cast(pl.Int64, strict=False).cast(pl.String))
                .otherwise(column.cast(pl.String))
            )
        elif dtype == pl.Date:
            text = column.dt.to_string("%Y-%m-%d")
        elif isinstance(dtype, pl.Datetime):
            text = column.dt.to_string("%Y-%m-%dT%H:%M:%S")
        elif dtype == pl.String:
            text = pl.when(column.str.strip_chars() == "").then(None).otherwise(column)
        else:
            text = column.cast(pl.String)
        columns.append(text.alias(name))
    return frame.select(columns)


def _number_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _missing_codes(ranges: dict[str, list[dict[str, Any]]]) -> dict[str, tuple[str, ...]]:
    codes: dict[str, tuple[str, ...]] = {}
    for column, items in ranges.items():
        shown = []
        for item in items:
            low, high = item.get("lo"), item.get("hi")
            text = (
                _number_text(low) if low == high else f"{_number_text(low)}..{_number_text(high)}"
            )
            shown.append(text)
        if shown:
            codes[column] = tuple(shown)
    return codes


def _without_default_rownames(frame: pl.DataFrame) -> pl.DataFrame:
    if "rownames" not in frame.columns:
        return frame
    expected = pl.int_range(1, frame.height + 1, eager=True).cast(pl.String)
    if frame.get_column("rownames").cast(pl.String).equals(expected):
        return frame.drop("rownames")
    return frame


def _unpack_problem(path: Path, limits: Limits) -> Finding | None:
    """Unpack a compressed .rds once, counting, to refuse bombs and catch truncation early."""
    with path.open("rb") as handle:
        head = handle.read(6)
    if head.startswith(b"\x1f\x8b"):
        unpacker: Any = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif head.startswith(b"BZh"):
        unpacker = bz2.BZ2Decompressor()
    elif head.startswith(b"\xfd7zXZ\x00"):
        unpacker = lzma.LZMADecompressor()
    else:
        return None
    total = 0
    try:
        with path.open("rb") as handle:
            while not unpacker.eof and (chunk := handle.read(MIB)):
                for out in _unpacked(unpacker, chunk):
                    total += len(out)
                    if total > limits.max_unpacked_bytes:
                        return error(
                            "read.zip-bomb",
                            "The compressed .rds file unpacks to more "
                            f"than {size_text(limits.max_unpacked_bytes)}; refused "
                            "unread.",
                        )
    except (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError) as exc:
        return _damaged("rds", exc)
    if not unpacker.eof:
        return _damaged("rds", EOFError("the compressed data ends early"))
    return None


def _unpacked(unpacker: Any, chunk: bytes) -> Iterator[bytes]:
    """Unpack ``chunk`` at most a MiB at a time (zlib, bz2 and lzma differ in how)."""
    if hasattr(unpacker, "unconsumed_tail"):  # zlib
        data = chunk
        while data and not unpacker.eof:
            yield unpacker.decompress(data, MIB)
            data = unpacker.unconsumed_tail
        return
    yield unpacker.decompress(chunk, MIB)
    while not unpacker.eof and not unpacker.needs_input:
        yield unpacker.decompress(b"", MIB)
