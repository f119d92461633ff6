"""The table a reader produces (string columns, as written) and the limits every reader keeps.

A reader returns either a whole table or none: when a finding says the file cannot be read
(``Table.data is None``), nothing of it is passed on. Empty cells are nulls; every other cell
is the text as written in the file (or, for typed formats, the value written as text).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import polars as pl
import pyarrow as pa

from cohortvault.quality.model import Detected, Finding, error, warning

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
#: Characters a header may carry invisibly (byte-order mark, zero-width spaces).
INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060"
UNNAMED = "\x00unnamed"  # no header can hold a NUL


@dataclass(frozen=True)
class Limits:
    """What a reader refuses before it spends the memory: each limit gives an error finding."""

    max_bytes: int = 1 * GIB  # the file as uploaded
    max_rows: int = 2_000_000
    max_columns: int = 2_000
    max_unpacked_bytes: int = 1 * GIB  # an XLSX's members, or a compressed .rds, unpacked
    max_compression_ratio: float = 200.0  # per XLSX member (members over 1 MiB unpacked)
    max_zip_members: int = 10_000


@dataclass(frozen=True)
class Table:
    """A file read into string columns, or (``frame is None``) the reasons it cannot be.

    ``frame`` is the Polars frame the checks work on; ``data`` the same columns as Arrow
    ``string_view`` (zero-copy, made on first use); ``data.cast`` to ``pa.string()`` where a
    consumer needs plain UTF-8 arrays.

    A table read for quality control only may hold number columns as numbers (``texts`` has
    an entry for each: the rows and text of its cells that are not numbers, or are numbers
    of nine or more digits; see ``typed``). Such a table has no ``data``.
    """

    frame: pl.DataFrame | None
    detected: Detected
    findings: list[Finding] = field(default_factory=list)
    texts: dict[str, pl.DataFrame] = field(default_factory=dict)

    @cached_property
    def data(self) -> pa.Table | None:
        if self.texts:
            raise ValueError("a table read with typed numbers is for quality control only")
        if self.frame is None:
            return None
        return self.frame.to_arrow(compat_level=pl.CompatLevel.newest())

    @property
    def readable(self) -> bool:
        return self.frame is not None

    @property
    def names(self) -> list[str]:
        return [] if self.frame is None else list(self.frame.columns)

    @property
    def rows(self) -> int:
        return 0 if self.frame is None else int(self.frame.height)


def unreadable(detected: Detected, *findings: Finding) -> Table:
    return Table(None, detected, list(findings))


def row_list(rows: list[int], total: int) -> str:
    shown = ", ".join(str(r) for r in rows)
    return f"{shown} and {total - len(rows)} more" if total > len(rows) else shown


def clean_name(name: str) -> str:
    """A header cell as the name of its column."""
    return name.strip().strip(INVISIBLE).strip()


def finish(
    frame: pl.DataFrame,
    names: list[str],
    detected: Detected,
    findings: list[Finding],
    limits: Limits,
    *,
    texts: dict[str, pl.DataFrame] | None = None,
) -> Table:
    """Check the header and the shape, then hand over the table as string columns.

    ``names`` are the header cells as written, one per column of ``frame`` (whose own column
    names are ignored); ``texts``, by the same column names, those of its columns read as
    numbers (which stay numbers).
    """
    texts = texts or {}
    clean = [clean_name(n) for n in names]
    problems = _header_problems(clean)
    if problems:
        return unreadable(_shape(detected, frame), *findings, *problems)
    internal = [n or f"{UNNAMED}{i}" for i, n in enumerate(clean)]
    renamed = dict(zip(frame.columns, internal, strict=True))
    numbers = {renamed[name]: cells for name, cells in texts.items()}
    frame = frame.rename(renamed)
    frame = frame.select(
        pl.col(name) if name in numbers else pl.col(name).cast(pl.String) for name in internal
    )
    findings = list(findings)
    keep: list[str] = []
    for position, name in enumerate(internal):
        if not name.startswith(UNNAMED):
            keep.append(name)
        elif frame.get_column(name).null_count() == frame.height:
            findings.append(
                warning(
                    "read.header",
                    f"Column {position + 1} has neither a name nor values; it was ignored.",
                )
            )
        else:
            return unreadable(
                _shape(detected, frame),
                *findings,
                error(
                    "read.header",
                    f"Column {position + 1} has values but no name in the "
                    "header row. Give every column its variable name.",
                ),
            )
    frame = frame.select(keep)
    if len(keep) > limits.max_columns:
        return unreadable(_shape(detected, frame), *findings, too_many_columns(len(keep), limits))
    frame, empty_rows = _drop_trailing_empty_rows(frame)
    if empty_rows:
        rows = [r + 2 for r in empty_rows[:5]]
        findings.append(
            warning(
                "read.empty-rows",
                f"{len(empty_rows)} empty row(s) inside the "
                f"table: row {row_list(rows, len(empty_rows))}.",
                rows=len(empty_rows),
            )
        )
    shaped = _shape(detected, frame)
    if frame.height == 0:
        return unreadable(
            shaped, *findings, error("read.no-rows", "The file has a header but no data rows.")
        )
    if frame.height > limits.max_rows:
        return unreadable(shaped, *findings, too_many_rows(frame.height, limits))
    return Table(frame, shaped, findings, numbers)


def too_many_rows(rows: int, limits: Limits) -> Finding:
    return error(
        "read.too-large",
        f"The file has {rows:,} data rows; at most {limits.max_rows:,} are accepted. Split it.",
    )


def too_many_columns(columns: int, limits: Limits) -> Finding:
    return error(
        "read.too-large",
        f"The file has {columns:,} columns; at most {limits.max_columns:,} are accepted.",
    )


def _header_problems(names: list[str]) -> list[Finding]:
    if not names:
        return [error("read.header", "The file has no header row.")]
    seen: dict[str, list[int]] = {}
    for position, name in enumerate(names, start=1):
        if name:
            seen.setdefault(name, []).append(position)
    twice = {n: p for n, p in seen.items() if len(p) > 1}
    if not twice:
        return []
    described = "; ".join(
        f"{n!r} (columns {', '.join(map(str, p))})" for n, p in list(twice.items())[:10]
    )
    return [
        error(
            "read.header",
            f"Column names occur more than once: {described}. Each variable must have one column.",
            example=next(iter(twice)),
        )
    ]


def _drop_trailing_empty_rows(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[int]]:
    """Drop empty rows at the end (a spreadsheet's used range); report those in between."""
    if frame.width == 0 or frame.height == 0:
        return frame, []
    if min(column.null_count() for column in frame.get_columns()) == 0:
        return frame, []  # a column without empty cells: no row is empty
    empty = frame.select(pl.all_horizontal(pl.all().is_null()).alias("e")).get_column("e")
    filled = (~empty).arg_true()
    last = int(filled.max()) if len(filled) else -1  # type: ignore[arg-type]
    frame = frame.head(last + 1)
    inner = empty.head(last + 1).arg_true().to_list()
    return frame, [int(i) for i in inner]


def _shape(detected: Detected, frame: pl.DataFrame) -> Detected:
    return replace(detected, rows=frame.height, columns=frame.width)


def describe_exception(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def size_text(size: int) -> str:
    for unit, scale in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}".replace(".0 ", " ")
    return f"{size:,} bytes"
