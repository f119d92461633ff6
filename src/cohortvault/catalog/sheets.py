"""The dictionary as a spreadsheet: one row per variable, one column per property (CSV, XLSX).

Rows are counted as a spreadsheet counts them, the header being row 1. Cells a spreadsheet
would execute are written as text: in XLSX as text cells marked with a quote prefix, in CSV
behind an apostrophe that reading removes again (so every value comes back exactly).
"""

from __future__ import annotations

import csv
import datetime
import io
import warnings
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any

from cohortvault.catalog import cells
from cohortvault.catalog.schema import Dictionary, Variable
from cohortvault.catalog.validation import MAX_VARIABLES, PROPERTIES, Draft, Parsed, Problem

COLUMNS = PROPERTIES
REQUIRED_COLUMNS = ("name", "type")
SHEET_TITLE = "dictionary"
#: An XLSX is a zip archive; refuse one that would unpack to more than this (a zip bomb).
MAX_UNPACKED_BYTES = 64 * 1024 * 1024


def row_of(v: Variable) -> list[str]:
    values = {
        "name": v.name,
        "type": v.type.value,
        "label": v.label,
        "description": v.description,
        "unit": v.unit,
        "domain": v.domain,
        "sensitivity": v.sensitivity.value,
        "required": cells.format_flag(v.required),
        "minimum": cells.format_number(v.minimum, v.type),
        "maximum": cells.format_number(v.maximum, v.type),
        "pattern": v.pattern,
        "categories": cells.format_categories(v.categories),
        "missing_values": cells.format_missing(v.missing_values),
        "identifier": cells.format_flag(v.identifier),
        "sites": cells.format_list(v.sites),
        "timepoints": cells.format_list(v.timepoints),
    }
    return [values[column] for column in COLUMNS]


def rows_of(dictionary: Dictionary) -> list[list[str]]:
    return [list(COLUMNS), *(row_of(v) for v in dictionary.variables)]


def drafts_of(rows: Iterable[tuple[int, Sequence[str]]]) -> Parsed:
    """Drafts from numbered rows of text cells, the first being the header."""
    parsed = Parsed()
    iterator = iter(rows)
    header_row = next(iterator, None)
    if header_row is None:
        parsed.problems.append(Problem("The file is empty: it has no header row."))
        return parsed
    number, header = header_row
    columns = [cell.strip().lower() for cell in header]
    known = set(COLUMNS)
    fatal = False
    for position, column in enumerate(columns):
        where = f"row {number}, column {position + 1}"
        if column and column not in known:
            parsed.problems.append(
                Problem(
                    f"unknown column {column!r}; the columns are {', '.join(COLUMNS)}",
                    location=where,
                )
            )
        elif column and columns.index(column) != position:
            parsed.problems.append(Problem(f"column {column!r} appears twice", location=where))
            fatal = True
    for column in REQUIRED_COLUMNS:
        if column not in columns:
            parsed.problems.append(
                Problem(f"the header row has no {column!r} column", location=f"row {number}")
            )
            fatal = True
    if fatal:  # the rows cannot be read without knowing which column is which
        return parsed
    for number, row in iterator:
        if not any(cell.strip() for cell in row):
            continue
        values: dict[str, Any] = {}
        draft = Draft(location=f"row {number}", values=values)
        for position, cell in enumerate(row):
            column = columns[position] if position < len(columns) else ""
            if column in known:
                values[column] = cell
            elif cell.strip() and position >= len(columns):
                draft.problems.append(
                    Problem(
                        f"has a value in column {position + 1}, which has no header",
                        location=draft.location,
                    )
                )
        parsed.drafts.append(draft)
    return parsed


# --- CSV ------------------------------------------------------------------------------------


def write_csv(dictionary: Dictionary) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows_of(dictionary):
        writer.writerow([cells.escape_formula(cell) for cell in row])
    return buffer.getvalue().encode("utf-8")


def read_csv(data: bytes) -> Parsed:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Parsed(
            problems=[
                Problem(
                    f"The file is not UTF-8 text (byte {exc.start + 1} cannot be read); "
                    "save it as 'CSV UTF-8'."
                )
            ]
        )
    if "\x00" in text:
        return Parsed(problems=[Problem("The file holds NUL characters; it is not a CSV file.")])
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    try:
        for number, record in enumerate(reader, start=1):
            if any(cell.strip() for cell in record):  # empty rows are skipped, not kept
                rows.append((number, [cells.unescape_formula(cell) for cell in record]))
            if len(rows) > MAX_VARIABLES + 1:
                return Parsed(problems=[Problem(f"More than {MAX_VARIABLES} variables.")])
    except csv.Error as exc:
        where = f"line {reader.line_num}"
        return Parsed(problems=[Problem(f"The CSV cannot be read: {exc}.", location=where)])
    return drafts_of(rows)


# --- XLSX -----------------------------------------------------------------------------------


def write_xlsx(dictionary: Dictionary) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_TITLE
    for r, row in enumerate(rows_of(dictionary), start=1):
        for c, value in enumerate(row, start=1):
            cell = sheet.cell(row=r, column=c)
            cell.value = value
            cell.data_type = "s"  # text, never a formula or a number
            if cells.is_risky(value):
                cell.quotePrefix = True  # stays text when edited in a spreadsheet
            if r == 1:
                cell.font = Font(bold=True)
    sheet.freeze_panes = "B2"
    about = workbook.create_sheet("about")
    for line in (
        f"cohortvault data dictionary, version {dictionary.version}",
        "One row per variable. Lists are joined with |; categories are code=label|code=label;",
        'missing-value codes are joined with |, and "" stands for the empty cell.',
        "Only the first sheet (named 'dictionary') is read when the file is imported.",
    ):
        about.append([line])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def read_xlsx(data: bytes) -> Parsed:
    problem = _zip_problem(data)
    if problem:
        return Parsed(problems=[Problem(problem)])
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about extensions it skips
            workbook = load_workbook(io.BytesIO(data), data_only=False)
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        return Parsed(problems=[Problem(f"The workbook cannot be read: {exc}.")])
    try:
        problems, rows = _sheet_rows(workbook)
    except Exception as exc:  # a workbook can be damaged in ways only reading its rows shows
        return Parsed(problems=[Problem(f"The workbook cannot be read: {exc}.")])
    parsed = drafts_of(rows)
    parsed.problems[:0] = problems
    return parsed


def _sheet_rows(workbook: Any) -> tuple[list[Problem], list[tuple[int, list[str]]]]:
    if not workbook.worksheets:
        return [Problem("The workbook has no worksheet.")], []
    names = workbook.sheetnames
    sheet = workbook[SHEET_TITLE] if SHEET_TITLE in names else workbook.worksheets[0]
    problems = [
        Problem(f"cells {merged} are merged; give every cell its own value", location="sheet")
        for merged in sheet.merged_cells.ranges
    ]
    rows: list[tuple[int, list[str]]] = []
    for row in sheet.iter_rows():
        texts = []
        for cell in row:
            text, trouble = _cell_text(cell)
            if trouble:
                problems.append(Problem(trouble, location=f"cell {cell.coordinate}"))
            texts.append(text)
        rows.append((row[0].row if row else len(rows) + 1, texts))
    return problems, rows


def _zip_problem(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return "The file is not an XLSX workbook (it is not a zip archive)."
    if sum(member.file_size for member in members) > MAX_UNPACKED_BYTES:
        return "The workbook unpacks to more than 64 MiB; it is not a plain data dictionary."
    if "xl/workbook.xml" not in {member.filename for member in members}:
        return "The file is a zip archive but not an XLSX workbook."
    return ""


def _cell_text(cell: Any) -> tuple[str, str]:
    """The cell's value as text, or a reason it cannot be read."""
    value = cell.value
    if cell.data_type == "f" or type(value).__name__ in ("ArrayFormula", "DataTableFormula"):
        return "", "holds a formula; type the value itself"
    if value is None:
        return "", ""
    if isinstance(value, bool):
        return cells.format_flag(value), ""
    if isinstance(value, int):
        return str(value), ""
    if isinstance(value, float):
        return (str(int(value)) if value.is_integer() else repr(value)), ""
    if isinstance(value, datetime.date | datetime.time | datetime.timedelta):
        return "", "holds a date or time; format the column as text and type the value"
    return str(value), ""
