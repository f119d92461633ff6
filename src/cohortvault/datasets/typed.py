"""From the text of an accepted import to typed columns, vectorised with ``pyarrow.compute``.

The rules (docs/datasets.md says the same to users):

========== ============ =========================================================
dictionary stored as    accepted text
========== ============ =========================================================
integer    int64        ``-12``, ``+12`` (surrounding spaces ignored)
number     float64      ``1.5``, ``-.5``, ``1e5``, ``NaN``, ``INF``
boolean    bool         ``true``/``false``/``yes``/``no``/``1``/``0``, any case
date       date32       ``2021-03-04`` (ISO 8601, a real calendar day)
yearmonth  string       ``2021-03`` (``YYYY-MM``)
string     string       anything, exactly as written
========== ============ =========================================================

Columns the dictionary does not define stay strings. A missing-value code (the dictionary's
``missingValues`` and the variable's own) that is a valid value of the column's type is kept
as that value (``-99`` in an integer column stays ``-99``: the stored Table Schema declares it
missing); any other code (``NA`` in an integer column, the empty string anywhere) becomes null.

Quality control has already checked the values, so a value that does not parse is a bug
upstream: the whole table is refused (``Invalid``, one detail per column) rather than a value
quietly lost. Columns that already have their target type (a table read back from an earlier
version and merged with new rows, say) are kept as they are.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from cohortvault.catalog.schema import Dictionary, FieldType, Variable
from cohortvault.datasets.keys import KEY, key_order, take_rows
from cohortvault.errors import Invalid

__all__ = [
    "SLICE_ROWS",
    "TARGETS",
    "Unparseable",
    "missing_codes",
    "typed_column",
    "typed_slices",
    "typed_table",
]

#: Rows typed at a time by ``typed_slices``, and so the Parquet file's row group size (Arrow's
#: default): a larger table is typed slice by slice while the previous slice is written.
SLICE_ROWS = 1 << 20

TARGETS: dict[FieldType, pa.DataType] = {
    FieldType.INTEGER: pa.int64(),
    FieldType.NUMBER: pa.float64(),
    FieldType.BOOLEAN: pa.bool_(),
    FieldType.DATE: pa.date32(),
    FieldType.YEARMONTH: pa.string(),
    FieldType.STRING: pa.string(),
}
TRUE_WORDS = ("true", "yes", "1")
FALSE_WORDS = ("false", "no", "0")
PATTERNS = {
    FieldType.INTEGER: r"^[+-]?[0-9]+$",
    FieldType.NUMBER: (
        r"^[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|(?i:nan|inf|infinity))$"
    ),
    FieldType.DATE: r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    FieldType.YEARMONTH: r"^[0-9]{4}-(?:0[1-9]|1[0-2])$",
}


@dataclass(frozen=True)
class Unparseable:
    """Values of one column that are not of the column's type (a detail of ``Invalid``)."""

    column: str
    type: str
    count: int
    row: int  # of the example, counting the table's rows from 1
    example: str

    def as_detail(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "type": self.type,
            "count": self.count,
            "row": self.row,
            "example": self.example[:50],
            "reason": f"{self.count} value(s) of {self.column} are not {self.type}",
        }


class _Bad(Exception):
    def __init__(self, mask: pa.ChunkedArray | pa.Array) -> None:
        self.mask = mask


def _is_valid_code(code: str, kind: FieldType) -> bool:
    """Is a missing-value code a value of ``kind`` (and so stored as that value)?"""
    if code == "":
        return False
    text = code.strip()
    match kind:
        case FieldType.STRING:
            return True
        case FieldType.BOOLEAN:
            return text.lower() in (*TRUE_WORDS, *FALSE_WORDS)
        case FieldType.DATE:
            if not re.match(PATTERNS[kind], text):
                return False
            try:
                datetime.date.fromisoformat(text)
            except ValueError:
                return False
            return True
        case _:
            return re.match(PATTERNS[kind], text) is not None


def missing_codes(variable: Variable | None, dictionary: Dictionary) -> tuple[str, ...]:
    own = variable.missing_values if variable is not None else ()
    return tuple(dict.fromkeys((*own, *dictionary.missing_values)))


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if column.type == pa.string():
        return column
    return pc.cast(column, pa.string())


def _null_codes(column: pa.ChunkedArray, codes: list[str]) -> pa.ChunkedArray:
    if not codes:
        return column
    if len(codes) > 3:
        found = pc.is_in(column, value_set=pa.array(codes, pa.string()))
    else:  # a comparison or two is cheaper than hashing every value
        found = pc.equal(column, codes[0])
        for code in codes[1:]:
            found = pc.or_(found, pc.equal(column, code))
    if not pc.any(found).as_py():
        return column
    return pc.if_else(found, pa.scalar(None, pa.string()), column)


def _checked(text: pa.ChunkedArray, ok: pa.ChunkedArray) -> None:
    bad = pc.and_(pc.is_valid(text), pc.invert(ok.fill_null(False)))
    if pc.any(bad).as_py():
        raise _Bad(bad)


def _parse_number(text: pa.ChunkedArray, kind: FieldType) -> pa.ChunkedArray:
    target = TARGETS[kind]
    try:
        parsed = pc.cast(text, target)
        if kind is not FieldType.INTEGER or not _has_hex(text):
            return parsed
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    trimmed = pc.utf8_trim_whitespace(text)
    _checked(trimmed, pc.match_substring_regex(trimmed, PATTERNS[kind]))
    if kind is FieldType.INTEGER:
        trimmed = pc.replace_substring_regex(trimmed, r"^\+", "")
    try:
        return pc.cast(trimmed, target)
    except pa.ArrowInvalid:  # an integer beyond 64 bits
        raise _Bad(pc.is_valid(trimmed)) from None


def _has_hex(text: pa.ChunkedArray) -> bool:
    """Arrow reads ``0x10`` as 16; the dictionary's integers are decimal. (Looks for an x in the
    chunks' character data at once; bytes outside a sliced chunk can only cause a slower,
    equally correct parse.)"""
    for chunk in text.chunks:
        data = chunk.buffers()[2]
        if data is not None and any(x in data.to_pybytes() for x in (b"x", b"X")):
            return True
    return False


def _parse_boolean(text: pa.ChunkedArray) -> pa.ChunkedArray:
    words = pc.ascii_lower(text)
    true = pc.is_in(words, value_set=pa.array(TRUE_WORDS))
    ok = pc.or_(true, pc.is_in(words, value_set=pa.array(FALSE_WORDS)))
    if (pc.sum(ok).as_py() or 0) + text.null_count < len(text):  # words with spaces, say
        words = pc.ascii_trim_whitespace(words)
        true = pc.is_in(words, value_set=pa.array(TRUE_WORDS))
        _checked(text, pc.or_(true, pc.is_in(words, value_set=pa.array(FALSE_WORDS))))
    if text.null_count:
        return pc.if_else(pc.is_null(text), pa.scalar(None, pa.bool_()), true)
    return true


def _parse_date(text: pa.ChunkedArray) -> pa.ChunkedArray:
    try:
        return pc.cast(text, pa.date32())
    except pa.ArrowInvalid:
        pass
    trimmed = pc.utf8_trim_whitespace(text)
    parsed = pc.strptime(trimmed, format="%Y-%m-%d", unit="s", error_is_null=True)
    # strptime rolls 2021-02-30 over into March; a real day reads back as it was written
    _checked(trimmed, pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), trimmed))
    return pc.cast(trimmed, pa.date32())


def _parse_yearmonth(text: pa.ChunkedArray) -> pa.ChunkedArray:
    # year-months repeat a lot: checking the distinct values is cheaper than every value
    distinct = pc.unique(text)
    if pc.all(pc.match_substring_regex(distinct, PATTERNS[FieldType.YEARMONTH])).as_py():
        return text
    trimmed = pc.utf8_trim_whitespace(text)
    _checked(trimmed, pc.match_substring_regex(trimmed, PATTERNS[FieldType.YEARMONTH]))
    return trimmed


PARSERS: dict[FieldType, Callable[[pa.ChunkedArray], pa.ChunkedArray]] = {
    FieldType.INTEGER: lambda text: _parse_number(text, FieldType.INTEGER),
    FieldType.NUMBER: lambda text: _parse_number(text, FieldType.NUMBER),
    FieldType.BOOLEAN: _parse_boolean,
    FieldType.DATE: _parse_date,
    FieldType.YEARMONTH: _parse_yearmonth,
    FieldType.STRING: lambda text: text,
}


def typed_column(
    column: pa.ChunkedArray, variable: Variable | None, dictionary: Dictionary
) -> pa.ChunkedArray:
    """One column with its dictionary type; raises ``_Bad`` with the mask of unparseable cells."""
    kind = variable.type if variable is not None else FieldType.STRING
    if column.type == TARGETS[kind] and kind not in (FieldType.STRING, FieldType.YEARMONTH):
        return column
    text = _as_text(column)
    codes = [c for c in missing_codes(variable, dictionary) if not _is_valid_code(c, kind)]
    return PARSERS[kind](_null_codes(text, codes))


def typed_table(table: pa.Table, dictionary: Dictionary) -> pa.Table:
    """Every column typed as the dictionary says, in the table's own column order.

    Columns are converted in parallel (``pyarrow.compute`` releases the GIL). Raises
    ``Invalid`` with an ``Unparseable`` detail per column that holds values not of its type.
    """
    _check_names(table)
    columns, problems = _typed(table, dictionary)
    if problems:
        raise _refusal(problems)
    return pa.Table.from_arrays(columns, names=table.column_names)


def typed_slices(
    table: pa.Table, dictionary: Dictionary, *, rows: int = SLICE_ROWS
) -> Iterator[pa.Table]:
    """The table typed and in key order, ``rows`` rows at a time, so that a consumer can write
    one slice while the next is typed. Checks the key first (``keys.key_order``).

    A slice with unparseable values stops the slices; the rest are still checked, so that
    ``Invalid`` names every such column, with counts over the whole table and the row (as
    given) of an example: the first one if the table arrived sorted.
    """
    _check_names(table)
    order = key_order(table)
    found: dict[str, Unparseable] = {}
    for start in range(0, max(table.num_rows, 1), rows):
        if order is None:
            part = table.slice(start, rows)
        else:
            part = take_rows(table, order.slice(start, rows))
        columns, problems = _typed(part, dictionary)
        for problem in problems:
            at = start + problem.row - 1
            given = at if order is None else int(order[at].as_py())
            problem = dataclasses.replace(problem, row=given + 1)
            earlier = found.get(problem.column)
            if earlier is not None:
                first = min(earlier, problem, key=lambda p: p.row)
                problem = dataclasses.replace(first, count=earlier.count + problem.count)
            found[problem.column] = problem
        if not found:
            yield pa.Table.from_arrays(columns, names=table.column_names)
    if found:
        raise _refusal(list(found.values()))


def _check_names(table: pa.Table) -> None:
    names = table.column_names
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise Invalid(f"Columns named twice: {', '.join(duplicates)}.")
    missing = [k for k in KEY if k not in names]
    if missing:
        raise Invalid(f"A dataset needs the columns {', '.join(missing)}.")


def _refusal(problems: list[Unparseable]) -> Invalid:
    return Invalid(
        "Some values are not of their variable's type; nothing was stored.",
        details=[p.as_detail() for p in problems],
    )


def _typed(
    table: pa.Table, dictionary: Dictionary
) -> tuple[list[pa.ChunkedArray], list[Unparseable]]:
    def convert(name: str) -> pa.ChunkedArray | Unparseable:
        variable = dictionary.variable(name)
        try:
            return typed_column(table[name], variable, dictionary)
        except _Bad as bad:
            return _unparseable(name, variable, table[name], bad.mask)

    names = table.column_names
    workers = min(len(names), os.cpu_count() or 1) or 1
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="typing") as pool:
        converted = list(pool.map(convert, names))
    problems = [c for c in converted if isinstance(c, Unparseable)]
    columns = [c for c in converted if not isinstance(c, Unparseable)]
    return columns, problems


def _unparseable(
    name: str, variable: Variable | None, column: pa.ChunkedArray, mask: Any
) -> Unparseable:
    kind = variable.type if variable is not None else FieldType.STRING
    first = pc.index(mask, True).as_py()
    return Unparseable(
        column=name,
        type=kind.value,
        count=int(pc.sum(mask).as_py() or 0),
        row=first + 1,
        example=str(column[first].as_py()),
    )
