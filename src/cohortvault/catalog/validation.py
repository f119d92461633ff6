"""Checking a dictionary read from a file: every problem, with where it is, before storing.

Each reader (JSON, CSV, XLSX) turns its input into ``Draft`` variables: raw values keyed by the
dictionary's property names (the CSV columns), with the row or field they came from. ``check``
parses and checks every draft, then the dictionary as a whole, and either returns the
``schema.Dictionary`` or raises ``Invalid`` whose ``details`` list every ``Problem``. The
standard part of each field is also checked by the ``frictionless`` library, so what is
stored is a Table Schema that R's and Python's Frictionless readers accept.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from cohortvault.catalog import cells
from cohortvault.catalog.schema import IDENTIFIERS, Dictionary, FieldType, Sensitivity, Variable
from cohortvault.errors import Invalid

T = TypeVar("T")

PROPERTIES = (
    "name",
    "type",
    "label",
    "description",
    "unit",
    "domain",
    "sensitivity",
    "required",
    "minimum",
    "maximum",
    "pattern",
    "categories",
    "missing_values",
    "identifier",
    "sites",
    "timepoints",
)
MAX_VARIABLES = 5000
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
CODE = re.compile(r"[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?")  # site and timepoint codes
LIMITS = {"label": 200, "description": 5000, "unit": 40, "domain": 60, "pattern": 500}
NUMERIC = (FieldType.INTEGER, FieldType.NUMBER)
CATEGORICAL = (FieldType.STRING, FieldType.INTEGER)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a dictionary: where (row or field), which variable and property."""

    message: str
    location: str = ""
    variable: str = ""
    property: str = ""

    def __str__(self) -> str:
        where = ", ".join(part for part in (self.location, self.variable, self.property) if part)
        return f"{where}: {self.message}" if where else self.message

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class Draft:
    """A variable as a reader found it: raw values by property name, and where it was."""

    location: str
    values: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Parsed:
    """What a reader made of a file: drafts, problems of its own, and warnings."""

    drafts: list[Draft] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def refuse(problems: Sequence[Problem]) -> Invalid:
    count = len(problems)
    noun = "problem" if count == 1 else "problems"
    return Invalid(
        f"The dictionary has {count} {noun}; nothing was stored.",
        details=[p.as_dict() for p in problems],
    )


def check(parsed: Parsed, *, version: int) -> Dictionary:
    """The checked dictionary, or ``Invalid`` listing every problem found."""
    problems = list(parsed.problems)
    if problems and not parsed.drafts:  # the file could not be read at all
        raise refuse(problems)
    checked: list[tuple[Draft, Variable | None]] = []
    for draft in parsed.drafts:
        checked.append((draft, _check_variable(draft)))
        problems.extend(draft.problems)
    problems.extend(_check_whole(checked))
    valid = [(draft, v) for draft, v in checked if v is not None]
    if not problems:
        problems.extend(_check_with_frictionless(valid))
    if problems:
        raise refuse(problems)
    dictionary = Dictionary(version=version, variables=tuple(v for _, v in valid))
    stored = Dictionary.from_table_schema(dictionary.to_table_schema(), version=version)
    if stored != dictionary:
        raise refuse([Problem("The dictionary does not survive storing unchanged (a bug).")])
    return dictionary


# --- one variable ---------------------------------------------------------------------------


class _Reader:
    """Reads one draft's properties, recording a problem for each bad one."""

    def __init__(self, draft: Draft) -> None:
        self.draft = draft
        self.name = ""

    def problem(self, prop: str, message: str) -> None:
        self.draft.problems.append(
            Problem(message, location=self.draft.location, variable=self.name, property=prop)
        )

    def get(self, prop: str, parse: Callable[[Any], T], fallback: T) -> T:
        try:
            return parse(self.draft.values.get(prop))
        except ValueError as exc:
            self.problem(prop, str(exc))
            return fallback

    def text(self, prop: str, *, lines: bool = False) -> str:
        return self.get(prop, lambda raw: _text(raw, LIMITS.get(prop, 200), lines=lines), "")


def _text(raw: Any, limit: int, *, lines: bool = False) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise ValueError(f"{raw!r} is not text")
    text = raw.replace("\r\n", "\n").strip()
    allowed = "\n" if lines else ""
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text):
        raise ValueError("contains control characters" + ("" if lines else " or line breaks"))
    if len(text) > limit:
        raise ValueError(f"is longer than {limit} characters")
    return text


def _choice(raw: Any, options: type[FieldType] | type[Sensitivity], default: str) -> str:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if default:
            return default
        raise ValueError(f"is missing; choose one of {', '.join(options)}")
    word = raw.strip().lower() if isinstance(raw, str) else raw
    if word not in set(options):
        raise ValueError(f"{raw!r} is not one of {', '.join(options)}")
    return str(word)


def _check_variable(draft: Draft) -> Variable | None:
    read = _Reader(draft)
    name = read.text("name")
    if not name:
        read.problem("name", "every variable needs a name")
    elif not NAME.fullmatch(name):
        read.problem(
            "name",
            f"{name!r} is not a valid name: start with a letter, then letters, digits or _ "
            "(at most 64)",
        )
    read.name = name
    kind = FieldType(read.get("type", lambda r: _choice(r, FieldType, ""), "string"))
    minimum = read.get("minimum", cells.parse_number, None)
    maximum = read.get("maximum", cells.parse_number, None)
    pattern = read.text("pattern")
    no_codes: tuple[str, ...] = ()
    categories = read.get("categories", cells.parse_categories, dict[str, str]())
    missing = read.get("missing_values", cells.parse_missing, no_codes)
    sites = read.get("sites", cells.parse_list, no_codes)
    timepoints = read.get("timepoints", cells.parse_list, no_codes)
    variable = Variable(
        name=name,
        type=kind,
        label=read.text("label"),
        description=read.text("description", lines=True),
        unit=read.text("unit"),
        domain=read.text("domain"),
        sensitivity=Sensitivity(
            read.get("sensitivity", lambda r: _choice(r, Sensitivity, "ordinary"), "ordinary")
        ),
        required=read.get("required", lambda r: cells.parse_flag(r, default=False), False),
        minimum=minimum,
        maximum=maximum,
        pattern=pattern,
        categories=categories,
        missing_values=missing,
        identifier=read.get(
            "identifier", lambda r: cells.parse_flag(r, default=name in IDENTIFIERS), False
        ),
        sites=sites,
        timepoints=timepoints,
    )
    if not any(p.property == "type" for p in draft.problems):
        _check_constraints(read, variable)
        _check_codes(read, variable)
    return None if draft.problems else variable


def _check_constraints(read: _Reader, v: Variable) -> None:
    for prop, bound in (("minimum", v.minimum), ("maximum", v.maximum)):
        if bound is None:
            continue
        if v.type not in NUMERIC:
            read.problem(prop, f"applies to integer and number variables, not {v.type}")
        elif v.type is FieldType.INTEGER and not bound.is_integer():
            read.problem(prop, f"{bound:g} is not a whole number, but {v.name} is an integer")
    if v.minimum is not None and v.maximum is not None and v.minimum > v.maximum:
        read.problem("minimum", f"{v.minimum:g} is greater than the maximum {v.maximum:g}")
    if v.pattern:
        if v.type is not FieldType.STRING:
            read.problem("pattern", f"applies to string variables, not {v.type}")
        trouble = _pattern_problem(v.pattern)
        if trouble:
            read.problem("pattern", trouble)
    if not v.categories:
        return
    if v.type not in CATEGORICAL:
        read.problem("categories", f"apply to string and integer variables, not {v.type}")
        return
    for code, label in v.categories.items():
        if v.type is FieldType.INTEGER and not re.fullmatch(r"-?(0|[1-9][0-9]*)", code):
            read.problem("categories", f"code {code!r} is not a whole number")
        elif v.type is FieldType.INTEGER and not _within(float(code), v):
            read.problem("categories", f"code {code} lies outside the range {_range(v)}")
        if "=" in code or "|" in code or "|" in label:
            read.problem("categories", f"{code}={label}: codes hold no '=' or '|', labels no '|'")
        for text, limit in ((code, 60), (label, 200)):
            try:
                _text(text, limit)
            except ValueError as exc:
                read.problem("categories", f"{text[:40]!r} {exc}")


def _pattern_problem(pattern: str) -> str:
    """Why a pattern cannot be used: it must be valid for Python (and Frictionless) and for
    the Rust engine of Polars, which the quality checks of imports use; that rules out
    look-around and back-references, which neither R's nor most SQL engines share either."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "possible nested set" and other future changes
            re.compile(pattern)
    except (re.error, FutureWarning) as exc:
        return f"{pattern!r} is not a valid regular expression: {exc}"
    import polars as pl

    try:
        pl.Series("probe", [""], dtype=pl.String).str.contains(f"^(?:{pattern})$")
    except pl.exceptions.PolarsError as exc:
        reason = next(
            (line[7:] for line in str(exc).splitlines() if line.startswith("error: ")), ""
        )
        return f"{pattern!r} cannot be used by the quality checks: {reason or exc}"
    return ""


def _check_codes(read: _Reader, v: Variable) -> None:
    seen: set[str] = set()
    for code in v.missing_values:
        if code in seen:
            read.problem("missing_values", f"{code!r} is given twice")
        seen.add(code)
        if "|" in code or len(code) > 40:
            read.problem("missing_values", f"{code[:40]!r}: codes are short and hold no '|'")
        if code in v.categories:
            read.problem("missing_values", f"{code!r} is also a category; a code means one thing")
        number = _number_or_none(code)
        if v.type in NUMERIC and number is not None and _bounded(v) and _within(number, v):
            read.problem(
                "missing_values",
                f"{code} lies inside the valid range {_range(v)}, so it could be a real value",
            )
    for prop, codes in (("sites", v.sites), ("timepoints", v.timepoints)):
        bad = [code for code in codes if not CODE.fullmatch(code)]
        if bad:
            read.problem(prop, f"{', '.join(map(repr, bad))}: codes are lower-case, like oslo")
        if len(set(codes)) != len(codes):
            read.problem(prop, "a code is given twice")


def _number_or_none(code: str) -> float | None:
    try:
        return cells.parse_number(code) if code else None
    except ValueError:
        return None


def _bounded(v: Variable) -> bool:
    return v.minimum is not None or v.maximum is not None


def _within(value: float, v: Variable) -> bool:
    return (v.minimum is None or value >= v.minimum) and (v.maximum is None or value <= v.maximum)


def _range(v: Variable) -> str:
    low = "" if v.minimum is None else cells.format_number(v.minimum, v.type)
    high = "" if v.maximum is None else cells.format_number(v.maximum, v.type)
    return f"{low}–{high}"


# --- the whole dictionary -------------------------------------------------------------------


def _check_names(drafts: Sequence[Draft]) -> list[Problem]:
    problems = []
    first: dict[str, Draft] = {}
    for draft in drafts:
        name = _name_of(draft)
        if not name:
            continue
        key = name.lower()
        if key in first:
            earlier = first[key]
            same = _name_of(earlier) == name
            how = "is defined twice" if same else "differs only in case from another variable"
            problems.append(
                Problem(
                    f"{name} {how} (also at {earlier.location})",
                    location=draft.location,
                    variable=name,
                    property="name",
                )
            )
        else:
            first[key] = draft
    return problems


def _check_whole(checked: Sequence[tuple[Draft, Variable | None]]) -> list[Problem]:
    drafts = [draft for draft, _ in checked]
    problems = _check_names(drafts)
    if not drafts:
        problems.append(Problem("The dictionary has no variables."))
    if len(drafts) > MAX_VARIABLES:
        problems.append(Problem(f"More than {MAX_VARIABLES} variables."))
    named = {_name_of(draft): (draft, v) for draft, v in reversed(checked)}
    for name in IDENTIFIERS:
        if name not in named:
            problems.append(
                Problem(f"The identifier column {name} must be defined.", variable=name)
            )
            continue
        draft, v = named[name]
        if v is None:
            continue
        wrong = []
        if v.type is not FieldType.STRING:
            wrong.append(("type", "an identifier column is of type string"))
        if not v.required:
            wrong.append(("required", "an identifier column is required (never empty)"))
        if not v.identifier:
            wrong.append(("identifier", "must be marked as an identifier"))
        if name == "subject_id" and not v.pattern:
            wrong.append(("pattern", "give the format of subject IDs as a pattern"))
        problems.extend(
            Problem(m, location=draft.location, variable=name, property=p) for p, m in wrong
        )
    return problems


def _name_of(draft: Draft) -> str:
    name = draft.values.get("name")
    return name.strip() if isinstance(name, str) else ""


def _check_with_frictionless(variables: Sequence[tuple[Draft, Variable]]) -> list[Problem]:
    """What the Frictionless library itself says about each field and the schema."""
    from frictionless import Field, Schema

    problems = []
    for draft, variable in variables:
        report = Field.validate_descriptor(variable.to_field())
        for note in report.flatten(["note"]):
            problems.append(
                Problem(
                    f"not a valid Table Schema field: {note[0]}",
                    location=draft.location,
                    variable=variable.name,
                )
            )
    if not problems:
        schema = Dictionary(version=0, variables=tuple(v for _, v in variables)).to_table_schema()
        for note in Schema.validate_descriptor(schema).flatten(["note"]):
            problems.append(Problem(f"not a valid Table Schema: {note[0]}"))
    return problems
