"""The transforms an extraction may apply, as plain data: what each reads, what it writes, how
it describes itself (for the codebook and the provenance manifest) and its JSON form.

How each is computed is in ``derive``; ``spec`` checks them against the dictionary.
A transform without an ``output`` replaces its variable in place.
"""

from __future__ import annotations

import math
import re
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, ClassVar, Literal, get_args

Grouping = Literal["site", "timepoint", "site_timepoint", "pooled"]
GROUPINGS: tuple[str, ...] = get_args(Grouping)
GROUP_COLUMNS: dict[str, tuple[str, ...]] = {
    "site": ("site",),
    "timepoint": ("timepoint",),
    "site_timepoint": ("site", "timepoint"),
    "pooled": (),
}
#: Names of delivered columns a transform may write (``__`` separates timepoints in wide).
OUTPUT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")


def number(value: float) -> str:
    """A number as people write it: no trailing zeros, every significant digit."""
    return f"{value:.15g}"


def _name_problems(what: str, name: object) -> list[str]:
    if not isinstance(name, str) or not OUTPUT_NAME.match(name) or "__" in name:
        return [
            f"{what} {name!r} is not a column name (a letter, then letters, digits or single "
            "underscores, at most 63 characters)."
        ]
    return []


def _finite(what: str, value: object) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return [f"{what} must be a finite number, not {value!r}."]
    return []


@dataclass(frozen=True)
class ZScore:
    """(value - mean) / SD within each group (sample SD, n - 1)."""

    kind: ClassVar[str] = "zscore"
    variable: str
    within: Grouping = "site"
    output: str | None = None

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.variable,)

    @property
    def target(self) -> str:
        return self.output or self.variable

    def problems(self) -> list[str]:
        found = _name_problems("z-score output", self.target)
        if self.within not in GROUPINGS:
            found.append(
                f"z-score of {self.variable}: within must be one of {', '.join(GROUPINGS)}, "
                f"not {self.within!r}."
            )
        return found

    @property
    def grouping(self) -> str:
        """The groups in words: "each site", …, "all rows pooled"."""
        return {
            "site": "each site",
            "timepoint": "each timepoint",
            "site_timepoint": "each site and timepoint",
            "pooled": "all rows pooled",
        }.get(self.within, self.within)

    def describe(self) -> str:
        return f"z-score of {self.variable} within {self.grouping}: (value - mean) / SD"


@dataclass(frozen=True)
class Dichotomise:
    """True where the value is at or above the threshold (strictly above with
    ``at_or_above=False``), false below it, empty where the value is missing."""

    kind: ClassVar[str] = "dichotomise"
    variable: str
    threshold: float
    output: str
    at_or_above: bool = True

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.variable,)

    @property
    def target(self) -> str:
        return self.output

    @property
    def operator(self) -> str:
        return ">=" if self.at_or_above else ">"

    def problems(self) -> list[str]:
        found = _name_problems("dichotomise output", self.output)
        found += _finite(f"threshold of {self.variable}", self.threshold)
        if not isinstance(self.at_or_above, bool):
            found.append(f"dichotomise of {self.variable}: at_or_above must be true or false.")
        return found

    def describe(self) -> str:
        sign = "≥" if self.at_or_above else ">"
        return f"true where {self.variable} {sign} {number(self.threshold)}, false below"


@dataclass(frozen=True)
class Recode:
    """Codes replaced by others (``mapping``: old code → new code); codes not in the mapping,
    missing-value codes included, are kept. ``labels`` names new codes."""

    kind: ClassVar[str] = "recode"
    variable: str
    mapping: dict[str, str]
    output: str | None = None
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.variable,)

    @property
    def target(self) -> str:
        return self.output or self.variable

    def problems(self) -> list[str]:
        found = _name_problems("recode output", self.target)
        for what, pairs in (("mapping", self.mapping), ("labels", self.labels)):
            if not isinstance(pairs, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in pairs.items()
            ):
                found.append(f"recode of {self.variable}: {what} must map codes to codes (text).")
        if isinstance(self.mapping, dict) and not self.mapping:
            found.append(f"recode of {self.variable}: the mapping is empty.")
        return found

    def describe(self) -> str:
        pairs = ", ".join(f"{old} → {new}" for old, new in self.mapping.items())
        return f"{self.variable} recoded: {pairs}; other codes kept"


@dataclass(frozen=True)
class ConvertUnit:
    """value × factor + offset, in ``unit`` (lb → kg: factor 0.45359237)."""

    kind: ClassVar[str] = "convert_unit"
    variable: str
    factor: float
    _: KW_ONLY
    offset: float = 0.0
    unit: str
    output: str | None = None

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.variable,)

    @property
    def target(self) -> str:
        return self.output or self.variable

    def problems(self) -> list[str]:
        found = _name_problems("unit conversion output", self.target)
        found += _finite(f"factor of {self.variable}", self.factor)
        found += _finite(f"offset of {self.variable}", self.offset)
        if isinstance(self.factor, int | float) and self.factor == 0:
            found.append(f"unit conversion of {self.variable}: the factor must not be 0.")
        if not isinstance(self.unit, str) or not self.unit.strip():
            found.append(f"unit conversion of {self.variable}: name the new unit.")
        return found

    def describe(self) -> str:
        offset = f" + {number(self.offset)}" if self.offset else ""
        return f"{self.variable} converted to {self.unit}: value × {number(self.factor)}{offset}"


@dataclass(frozen=True)
class AgeAtVisit:
    """Age in years at the visit, to one decimal, from a ``YYYY-MM`` month of birth (taken as
    its 15th) and the visit date: whole years since that day plus the elapsed fraction of the
    current year of age (counted in days, so leap years are exact)."""

    kind: ClassVar[str] = "age_at_visit"
    birth_month_variable: str = "birth_month"
    visit_date_variable: str = "visit_date"
    output: str = "age_at_visit"

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.birth_month_variable, self.visit_date_variable)

    @property
    def target(self) -> str:
        return self.output

    def problems(self) -> list[str]:
        return _name_problems("age at visit output", self.output)

    def describe(self) -> str:
        return (
            f"age in years at {self.visit_date_variable} from {self.birth_month_variable} "
            "(the 15th of the month of birth), to one decimal"
        )


Transform = ZScore | Dichotomise | Recode | ConvertUnit | AgeAtVisit
KINDS: dict[str, type[Transform]] = {
    t.kind: t for t in (ZScore, Dichotomise, Recode, ConvertUnit, AgeAtVisit)
}


def transform_to_dict(transform: Transform) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": transform.kind}
    data.update({k: v for k, v in transform.__dict__.items() if k != "_"})
    if isinstance(transform, Recode) and not transform.labels:
        del data["labels"]
    return data


def transform_from_dict(data: object) -> Transform:
    """A transform from its JSON form; raises ``TypeError``/``ValueError`` with the reason."""
    if not isinstance(data, dict):
        raise TypeError(f"a transform is an object with a kind, not {data!r}")
    kind = data.get("kind")
    if kind not in KINDS:
        raise ValueError(f"unknown transform kind {kind!r} (known: {', '.join(KINDS)})")
    arguments = {k: v for k, v in data.items() if k != "kind"}
    return KINDS[kind](**arguments)
