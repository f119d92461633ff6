"""XLSX workbooks: the zip container is checked before anything is unpacked (member count,
unpacked size, compression ratio, encryption), then openpyxl reads one sheet in read-only mode.

Formulas are never evaluated: a formula cell keeps its formula text and is reported, as are
merged cells (openpyxl's read-only mode does not see them, so the sheet's XML is scanned for
``<mergeCell>``). Values become text as a spreadsheet shows them: integers without ``.0``,
numbers with at most 15 significant digits, dates as ``YYYY-MM-DD``.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl

from cohortvault.quality.model import Detected, Finding, error, warning
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

_MERGE = re.compile(
    rb'<(?:[A-Za-z0-9_]+:)?mergeCell\b[^>]*?\bref="([A-Z]{1,3}[0-9]+(?::[A-Z]{1,3}[0-9]+)?)"'
)
SHOWN = 5


def zip_problem(path: Path, limits: Limits) -> Finding | None:
    """Refuse a damaged, encrypted or bomb-like container before any member is unpacked."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        return error(
            "read.unreadable",
            f"The workbook is damaged or not an XLSX file ({describe_exception(exc)}).",
        )
    if len(members) > limits.max_zip_members:
        return _bomb(f"it has {len(members):,} parts (at most {limits.max_zip_members:,})")
    unpacked = sum(m.file_size for m in members)
    if unpacked > limits.max_unpacked_bytes:
        return _bomb(
            f"it unpacks to {size_text(unpacked)} (at most {size_text(limits.max_unpacked_bytes)})"
        )
    for member in members:
        if member.flag_bits & 0x1:
            return error(
                "read.unreadable", "The workbook is encrypted; save it without a password."
            )
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > MIB and ratio > limits.max_compression_ratio:
            return _bomb(
                f"its part {member.filename!r} is compressed {ratio:,.0f} to 1 "
                f"(at most {limits.max_compression_ratio:,.0f})"
            )
    names = {m.filename.lstrip("/") for m in members}
    if "xl/workbook.xml" not in names:
        return error("read.unreadable", "The file is a zip archive but not an Excel workbook.")
    return None


def _bomb(reason: str) -> Finding:
    return error(
        "read.zip-bomb",
        f"The workbook was refused unopened: {reason}. A real data sheet is never like this.",
    )


@dataclass
class _Sheet:
    names: list[str]
    columns: list[list[str | None]]
    formulas: dict[int, list[str]] = field(default_factory=dict)  # column -> "C5: =A5*2"
    formula_count: dict[int, int] = field(default_factory=dict)
    overflow: list[str] = field(default_factory=list)  # cells right of the header
    rows: int = 0
    header_row: int = 1


def read_xlsx(path: Path, *, size: int, limits: Limits, study: str | None) -> Table:
    detected = Detected(format="xlsx", size=size)
    problem = zip_problem(path, limits)
    if problem is not None:
        return unreadable(detected, problem)
    findings: list[Finding] = []
    with warnings.catch_warnings(), path.open("rb") as handle:
        warnings.simplefilter("ignore")
        try:  # a file object: openpyxl would judge a path by its name
            workbook = openpyxl.load_workbook(
                handle, read_only=True, data_only=False, keep_links=False, keep_vba=False
            )
        except Exception as exc:
            return unreadable(
                detected,
                error(
                    "read.unreadable",
                    f"The workbook is damaged or not an XLSX file ({describe_exception(exc)}).",
                ),
            )
        try:
            sheets = list(workbook.worksheets)
            if not sheets:
                return unreadable(detected, error("read.no-rows", "The workbook has no sheets."))
            sheet = _choose(sheets, study)
            titles = tuple(str(s.title) for s in sheets)
            detected = replace(detected, sheet=str(sheet.title), sheets=titles)
            if len(sheets) > 1:
                others = ", ".join(repr(t) for t in titles if t != sheet.title)
                findings.append(
                    warning(
                        "read.sheets",
                        f"The workbook has {len(sheets)} sheets; "
                        f"only {sheet.title!r} was read (not {others}).",
                    )
                )
            sheet.reset_dimensions()
            content = _read_sheet(sheet, limits)
        except Exception as exc:
            return unreadable(
                detected,
                error("read.unreadable", f"The workbook is damaged ({describe_exception(exc)})."),
            )
        finally:
            workbook.close()
    if isinstance(content, Finding):
        return unreadable(detected, *findings, content)
    findings += _merged(path, getattr(sheet, "_worksheet_path", None))
    findings += _formulas(content)
    if content.overflow:
        return unreadable(
            detected,
            *findings,
            error(
                "read.header",
                "Cells with values right "
                "of the last named column, first at "
                f"{', '.join(content.overflow)}. Give every column a name.",
            ),
        )
    if _has_macros(path):
        findings.append(
            warning(
                "read.macros", "The workbook contains macros; they were not run and are not kept."
            )
        )
    frame = pl.DataFrame(
        {f"c{i}": values for i, values in enumerate(content.columns)},
        schema={f"c{i}": pl.String for i in range(len(content.columns))},
    )
    return finish(frame, content.names, detected, findings, limits)


def _choose(sheets: list[Any], study: str | None) -> Any:
    if study:
        wanted = _plain(study)
        for sheet in sheets:
            if _plain(str(sheet.title)) == wanted:
                return sheet
    return sheets[0]


def _plain(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in folded if c.isalnum())


def _read_sheet(sheet: Any, limits: Limits) -> _Sheet | Finding:
    rows = sheet.iter_rows()
    header: list[Any] = []
    header_row = 0
    for cells in rows:
        header_row += 1
        if any(_text(c) is not None for c in cells):
            header = list(cells)
            break
    if not header:
        return error("read.empty", "The sheet is empty.")
    while header and _text(header[-1]) is None:
        header.pop()
    width = len(header)
    if width > limits.max_columns:
        return too_many_columns(width, limits)
    content = _Sheet(
        names=[_text(c) or "" for c in header],
        columns=[[] for _ in range(width)],
        header_row=header_row,
    )
    for position, cell in enumerate(header):
        _note_formula(content, position, cell)
    for cells in rows:
        content.rows += 1
        if content.rows > limits.max_rows:
            return too_many_rows(content.rows, limits)
        for position in range(width):
            cell = cells[position] if position < len(cells) else None
            content.columns[position].append(_text(cell))
            _note_formula(content, position, cell)
        for cell in cells[width:]:
            if _text(cell) is not None and len(content.overflow) < SHOWN:
                content.overflow.append(str(getattr(cell, "coordinate", "?")))
    return content


def _note_formula(content: _Sheet, position: int, cell: Any) -> None:
    if getattr(cell, "data_type", None) != "f":
        return
    content.formula_count[position] = content.formula_count.get(position, 0) + 1
    shown = content.formulas.setdefault(position, [])
    if len(shown) < 3:
        text = _text(cell) or ""
        shown.append(f"{cell.coordinate}: {text[:40]}")


def _formulas(content: _Sheet) -> list[Finding]:
    return [
        error(
            "read.formula",
            f"{count} cell(s) hold a formula, not a value (formulas are never "
            "calculated here): paste the values instead.",
            column=content.names[position] or None,
            rows=count,
            example="; ".join(content.formulas[position]),
        )
        for position, count in sorted(content.formula_count.items())
    ]


def _text(cell: Any) -> str | None:
    if cell is None:
        return None
    value = getattr(cell, "value", None)
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format(value, ".15g")
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    text = getattr(value, "text", None)  # array and data-table formulas
    return str(text if text is not None else value)


def _merged(path: Path, member: str | None) -> list[Finding]:
    if not member:
        return []
    ranges: list[str] = []
    count = 0
    tail = b""
    with zipfile.ZipFile(path) as archive, archive.open(member.lstrip("/")) as source:
        chunk = source.read(MIB)
        while chunk:
            following = source.read(MIB)
            data = tail + chunk
            cut = len(data) - 512 if following else len(data)  # later starts: next round
            for match in _MERGE.finditer(data):
                if match.start() >= cut:
                    break
                count += 1
                if len(ranges) < SHOWN:
                    ranges.append(match.group(1).decode())
            tail, chunk = data[cut:], following
    if not count:
        return []
    return [
        error(
            "read.merged-cells",
            f"{count} merged cell range(s): only their first cell holds a "
            "value. Unmerge them and fill every cell.",
            rows=count,
            example=", ".join(ranges),
        )
    ]


def _has_macros(path: Path) -> bool:
    with zipfile.ZipFile(path) as archive:
        return any(n.lower().endswith("vbaproject.bin") for n in archive.namelist())
