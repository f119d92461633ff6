"""The text form of a variable's properties, as written in the CSV and XLSX columns.

One cell per property: numbers as plain decimals, flags as ``true``/``false``, lists joined
with ``|``, categories as ``code=label|code=label``, and missing-value codes joined with ``|``
where ``""`` stands for the empty cell. Parsers accept what JSON gives too (numbers, booleans,
lists, objects), so every format goes through the same checks. They raise ``ValueError`` with a
message meant for the curator.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from cohortvault.catalog.schema import FieldType

LIST_SEPARATOR = "|"
EMPTY_CODE = '""'
TRUE_WORDS = frozenset({"true", "yes", "y", "1", "x"})
FALSE_WORDS = frozenset({"false", "no", "n", "0"})

#: Cells a spreadsheet would execute start with one of these; plain numbers are harmless.
FORMULA_STARTS = ("=", "+", "-", "@")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def format_number(value: float | None, kind: FieldType) -> str:
    if value is None:
        return ""
    value = float(value)
    if kind is FieldType.INTEGER or (value.is_integer() and abs(value) < 1e15):
        return str(int(value))
    return repr(value)


def parse_number(raw: Any) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not a number")
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        text = raw.strip()
        if not text:
            return None
        if "," in text and "." not in text and text.replace(",", "").lstrip("+-").isdigit():
            raise ValueError(f"{text!r} is not a number (write decimals with a point)")
        if not _PLAIN_NUMBER.fullmatch(text):
            raise ValueError(f"{text!r} is not a number")
        value = float(text)
    else:
        raise ValueError(f"{raw!r} is not a number")
    if not math.isfinite(value):
        raise ValueError(f"{raw!r} is not a finite number")
    return value


def format_flag(value: bool) -> str:
    return "true" if value else "false"


def parse_flag(raw: Any, *, default: bool) -> bool:
    if raw is None:
        return default
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        word = raw.strip().lower()
        if not word:
            return default
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise ValueError(f"{raw!r} is neither true nor false")


def format_list(values: Sequence[str]) -> str:
    return LIST_SEPARATOR.join(values)


def parse_list(raw: Any) -> tuple[str, ...]:
    """Codes such as sites or timepoints: a JSON list, or text joined with ``|``."""
    if raw is None:
        return ()
    if isinstance(raw, str):
        items: list[Any] = raw.split(LIST_SEPARATOR)
    elif isinstance(raw, list | tuple):
        items = list(raw)
    else:
        raise ValueError(f"{raw!r} is not a list")
    if not all(isinstance(item, str) for item in items):
        raise ValueError("every entry must be text")
    return tuple(item.strip() for item in items if item.strip())


def format_missing(codes: Sequence[str]) -> str:
    return LIST_SEPARATOR.join(EMPTY_CODE if code == "" else code for code in codes)


def parse_missing(raw: Any) -> tuple[str, ...]:
    """Missing-value codes: a JSON list of strings, or text joined with ``|`` (``""`` is the
    empty cell)."""
    if raw is None:
        return ()
    if isinstance(raw, list | tuple):
        if not all(isinstance(code, str) for code in raw):
            raise ValueError('missing-value codes must be text (write -99 as "-99")')
        return tuple(code.strip() for code in raw)
    if not isinstance(raw, str):
        raise ValueError(f"{raw!r} is not a list of codes")
    if not raw.strip():
        return ()
    codes = []
    for token in raw.split(LIST_SEPARATOR):
        token = token.strip()
        if not token:
            raise ValueError(f'{raw!r} has an empty code between separators; write "" for it')
        codes.append("" if token == EMPTY_CODE else token)
    return tuple(codes)


def format_categories(categories: dict[str, str]) -> str:
    return LIST_SEPARATOR.join(f"{code}={label}" for code, label in categories.items())


def parse_categories(raw: Any) -> dict[str, str]:
    """Category codes with their labels: a JSON object, or ``code=label|code=label`` (a code
    without ``=label`` is its own label)."""
    if raw is None:
        return {}
    if isinstance(raw, dict):
        pairs = list(raw.items())
        if not all(isinstance(label, str) for _, label in pairs):
            raise ValueError("category labels must be text")
    elif isinstance(raw, str):
        if not raw.strip():
            return {}
        pairs = []
        for token in raw.split(LIST_SEPARATOR):
            code, _, label = token.partition("=")
            if not code.strip():
                raise ValueError(f"{token.strip()!r} has no code before '='")
            pairs.append((code, label))
    else:
        raise ValueError(f"{raw!r} is not a list of categories")
    categories: dict[str, str] = {}
    for code, label in pairs:
        code, label = str(code).strip(), label.strip()
        if code in categories:
            raise ValueError(f"category {code!r} is given twice")
        categories[code] = label or code
    return categories


def is_risky(text: str) -> bool:
    """Would a spreadsheet take this cell for a formula?"""
    return text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text)


def escape_formula(text: str) -> str:
    """Prefix an apostrophe to CSV cells a spreadsheet would execute (and to cells that already
    start with one, so ``unescape_formula`` restores every value exactly)."""
    if is_risky(text) or text.startswith("'"):
        return "'" + text
    return text


def unescape_formula(text: str) -> str:
    if text.startswith("'") and text[1:2] in ("'", *FORMULA_STARTS):
        return text[1:]
    return text
