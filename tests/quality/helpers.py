"""Building blocks of the quality tests: a small dictionary, reading text into a report, and
generators of valid identity numbers written independently of ``quality.nationalids`` (so the
two implementations check each other)."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import random
from collections.abc import Iterable
from typing import Any

from cohortvault.catalog.schema import Dictionary, FieldType, Variable
from cohortvault.quality import Report, check, numbers_of, read
from cohortvault.quality.model import Finding
from cohortvault.quality.tables import Limits, Table

T = FieldType
SITE = "oslo"
TIMEPOINTS = ("t0", "t1")
IDENTIFIERS = (
    Variable("subject_id", T.STRING, required=True, pattern="[A-Z]{3}-[0-9]{4}", identifier=True),
    Variable("timepoint", T.STRING, required=True, identifier=True),
    Variable("site", T.STRING, required=True, identifier=True),
)


def dictionary(*variables: Variable, missing: tuple[str, ...] = ("", "-99")) -> Dictionary:
    return Dictionary(1, IDENTIFIERS + variables, missing_values=missing)


def table(
    text: str | bytes,
    name: str = "data.csv",
    limits: Limits | None = None,
    numbers: Dictionary | None = None,
) -> Table:
    """The table read as text; with ``numbers``, its number columns read as numbers."""
    data = text.encode() if isinstance(text, str) else text
    typed = numbers_of(numbers) if numbers is not None else None
    return read(io.BytesIO(data), name, limits=limits, numbers=typed)


def comparable(report: Report) -> dict[str, Any]:
    """A report as data, without its timing; means to nine digits (summing numbers in another
    order may change the last digits); and the example of a number out of range or outside
    the categories as a number (read as a number, "1e6" shows as 1000000)."""
    data = report.to_dict()
    data.pop("seconds", None)
    for column in data["columns"]:
        if column["mean"] is not None:
            column["mean"] = float(f"{column['mean']:.9g}")
    for finding in data["findings"]:
        if finding["check"] in ("range", "category"):
            with contextlib.suppress(ValueError):
                finding["example"] = float(finding["example"])
    return data


def rows(header: str, *lines: str, subject: int = 1) -> str:
    """A CSV with the identifier columns first; each line gets a subject of its own."""
    out = [f"subject_id,timepoint,site,{header}"]
    for k, line in enumerate(lines):
        out.append(f"OSL-{subject + k:04d},t0,{SITE},{line}")
    return "\n".join(out) + "\n"


def report(
    text: str | bytes,
    *variables: Variable,
    name: str = "data.csv",
    known_subjects: Iterable[str] | None = None,
    known_timepoints: Iterable[str] | None = TIMEPOINTS,
) -> Report:
    """The report of the table read as text; the report of its number columns read as
    numbers (as imports are checked) must be the same, which every test using this checks."""
    schema = dictionary(*variables)
    reports = [
        check(
            table(text, name, numbers=numbers),
            schema,
            site=SITE,
            known_subjects=known_subjects,
            known_timepoints=known_timepoints,
        )
        for numbers in (None, schema)
    ]
    assert comparable(reports[1]) == comparable(reports[0])
    return reports[0]


def one_column(
    values: Iterable[str], variable: Variable | None = None, name: str = "notes"
) -> Report:
    """A report of a table whose only data column holds ``values``."""
    var = variable or Variable(name, T.STRING)
    quoted = ['"' + v.replace('"', '""') + '"' for v in values]
    return report(rows(var.name, *quoted), var)


def findings(report: Report, check: str, column: str | None = None) -> list[Finding]:
    return [
        f for f in report.findings if f.check == check and (column is None or f.column == column)
    ]


def checks(report: Report) -> set[str]:
    return {f.check for f in report.findings}


# --- valid identity numbers, computed here independently -------------------------------------


def _date(rng: random.Random, start: int = 1925, end: int = 2015) -> dt.date:
    first = dt.date(start, 1, 1).toordinal()
    return dt.date.fromordinal(rng.randint(first, dt.date(end, 12, 31).toordinal()))


def fodselsnummer(rng: random.Random, *, d_number: bool = False) -> str:
    while True:
        born = _date(rng, 1940, 2020)
        individual = rng.randint(500, 999) if born.year >= 2000 else rng.randint(0, 499)
        day = born.day + (40 if d_number else 0)
        nine = [int(c) for c in f"{day:02d}{born.month:02d}{born.year % 100:02d}{individual:03d}"]
        k1 = 11 - sum(w * x for w, x in zip([3, 7, 6, 1, 8, 9, 4, 5, 2], nine, strict=True)) % 11
        k1 = 0 if k1 == 11 else k1
        if k1 == 10:
            continue
        ten = [*nine, k1]
        k2 = 11 - sum(w * x for w, x in zip([5, 4, 3, 2, 7, 6, 5, 4, 3, 2], ten, strict=True)) % 11
        k2 = 0 if k2 == 11 else k2
        if k2 == 10:
            continue
        return "".join(map(str, [*ten, k2]))


def luhn_digit(body: str) -> str:
    total = 0
    for i, c in enumerate(reversed(body)):
        v = int(c) * (2 if i % 2 == 0 else 1)
        total += v - 9 if v > 9 else v
    return str((10 - total % 10) % 10)


def personnummer(rng: random.Random, *, samordning: bool = False) -> tuple[str, str]:
    """(10-digit form YYMMDD-NNNC, 12-digit form YYYYMMDDNNNC)."""
    born = _date(rng)
    day = born.day + (60 if samordning else 0)
    body = f"{born.year % 100:02d}{born.month:02d}{day:02d}{rng.randint(0, 999):03d}"
    ten = body + luhn_digit(body)
    return f"{ten[:6]}-{ten[6:]}", f"{born.year // 100}{ten}"


def cpr(rng: random.Random) -> str:
    """DDMMYY-SSSS passing the old mod-11 check, century rule respected (7th digit 0-3)."""
    while True:
        born = _date(rng, 1901, 1999)
        dated = f"{born.day:02d}{born.month:02d}{born.year % 100:02d}"
        head = f"{dated}{rng.randint(0, 3)}{rng.randint(0, 99):02d}"
        weights = [4, 3, 2, 7, 6, 5, 4, 3, 2]
        rest = sum(int(c) * w for c, w in zip(head, weights, strict=True)) % 11
        last = (11 - rest) % 11
        if last < 10:
            return f"{head[:6]}-{head[6:]}{last}"


def steuer_id(rng: random.Random) -> str:
    while True:
        digits = rng.sample(range(10), 9)
        if digits[0] == 0:
            continue
        twice = rng.choice(digits)
        position = rng.randint(1, 9)
        ten = [*digits[:position], twice, *digits[position:]]
        if any(ten[i] == ten[i + 1] == ten[i + 2] for i in range(8)):
            continue
        product = 10
        for d in ten:
            s = (d + product) % 10 or 10
            product = (2 * s) % 11
        check = (11 - product) % 10
        return "".join(map(str, ten)) + str(check)


def svnr(rng: random.Random) -> str:
    born = _date(rng)
    letter = rng.choice("ABCDEFGHIJKLMNOPRSTWZ")
    area = rng.randint(10, 89)
    serial = rng.randint(0, 99)
    head = f"{area:02d}{born.day:02d}{born.month:02d}{born.year % 100:02d}"
    digits = head + f"{ord(letter) - 64:02d}" + f"{serial:02d}"
    weights = [2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1]
    total = sum(sum(divmod(int(d) * w, 10)) for d, w in zip(digits, weights, strict=True))
    return f"{head}{letter}{serial:02d}{total % 10}"


def dni(rng: random.Random) -> str:
    number = rng.randint(0, 99_999_999)
    return f"{number:08d}" + "TRWAGMYFPDXBNJZSQVHLCKE"[number % 23]


def nie(rng: random.Random) -> str:
    prefix = rng.choice("XYZ")
    number = rng.randint(0, 9_999_999)
    whole = int(str("XYZ".index(prefix)) + f"{number:07d}")
    return f"{prefix}{number:07d}" + "TRWAGMYFPDXBNJZSQVHLCKE"[whole % 23]


def nhs(rng: random.Random) -> str:
    while True:
        nine = [rng.randint(0, 9) for _ in range(9)]
        check = 11 - sum(d * w for d, w in zip(nine, range(10, 1, -1), strict=True)) % 11
        check = 0 if check == 11 else check
        if check != 10:
            digits = "".join(map(str, nine)) + str(check)
            return f"{digits[:3]} {digits[3:6]} {digits[6:]}"


def card(rng: random.Random, prefix: str = "4", length: int = 16) -> str:
    body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(length - len(prefix) - 1))
    return body + luhn_digit(body)
