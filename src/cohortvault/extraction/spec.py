"""What an extraction delivers: the granted variables of the named dataset versions, the
transforms to apply, the layout and the timepoints. Frozen, validated, and round-tripped
through JSON, so the same spec can be stored with the project, shown to approvers and written
into the provenance manifest.

Problems that need no dictionary (an empty selection, two transforms writing one column, …)
are refused when the spec is made; ``validate(dictionary)`` adds those that do (unknown
variables, a z-score of text, …). Either way ``SpecError`` lists every problem found.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any, Literal, get_args

from cohortvault.catalog.schema import IDENTIFIERS, Dictionary, FieldType
from cohortvault.extraction.transforms import (
    AgeAtVisit,
    ConvertUnit,
    Dichotomise,
    Recode,
    Transform,
    ZScore,
    transform_from_dict,
    transform_to_dict,
)

Layout = Literal["long", "wide"]
LAYOUTS: tuple[str, ...] = get_args(Layout)
NUMERIC = (FieldType.INTEGER, FieldType.NUMBER)
RECODABLE = (FieldType.STRING, FieldType.INTEGER, FieldType.NUMBER)


class SpecError(ValueError):
    """The spec cannot be run; ``problems`` lists every reason, one sentence each."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"- {p}" for p in self.problems)
        super().__init__(f"The extraction spec has {len(self.problems)} problem(s):\n{lines}")


@dataclass(frozen=True)
class Source:
    """One dataset version the data come from; ``checksum`` is its stored content's."""

    site: str
    study: str
    version: int
    checksum: str

    def problems(self) -> list[str]:
        found = [
            f"source {self.site!r}/{self.study!r}: {name} must be non-empty text."
            for name in ("site", "study", "checksum")
            if not isinstance(getattr(self, name), str) or not getattr(self, name)
        ]
        if isinstance(self.version, bool) or not isinstance(self.version, int):
            found.append(f"source {self.site!r}/{self.study!r}: version must be a whole number.")
        return found

    @property
    def key(self) -> tuple[str, str]:
        return (self.site, self.study)


@dataclass(frozen=True)
class Extraction:
    variables: tuple[str, ...]
    sources: tuple[Source, ...]
    transforms: tuple[Transform, ...] = ()
    layout: Layout = "long"
    timepoints: tuple[str, ...] = ()  # empty: all

    def __post_init__(self) -> None:
        for name in ("variables", "sources", "transforms", "timepoints"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        found = self._problems()
        if found:
            raise SpecError(found)

    # --- what needs no dictionary ------------------------------------------------------------

    def _problems(self) -> list[str]:
        found: list[str] = []
        if not self.variables:
            found.append("No variables are selected.")
        if not all(isinstance(v, str) for v in self.variables):
            found.append("Variables are named by text.")
            return found
        found += [f"{v} is selected twice." for v in _repeated(self.variables)]
        found += [
            f"{v} is always delivered (an identifier); do not select it."
            for v in self.variables
            if v in IDENTIFIERS
        ]
        if not self.sources:
            found.append("No sources are named.")
        for source in self.sources:
            found += source.problems()
        found += [
            f"source {site}/{study} is named twice."
            for site, study in _repeated(s.key for s in self.sources)
        ]
        if self.layout not in LAYOUTS:
            found.append(f"layout must be one of {', '.join(LAYOUTS)}, not {self.layout!r}.")
        if not all(isinstance(t, str) and t for t in self.timepoints):
            found.append("Timepoints are named by non-empty text.")
        found += [f"timepoint {t} is named twice." for t in _repeated(self.timepoints)]
        found += self._transform_problems()
        return found

    def _transform_problems(self) -> list[str]:
        found: list[str] = []
        available = set(self.variables)
        written: dict[str, int] = {}
        for number, transform in enumerate(self.transforms, start=1):
            if not isinstance(transform, ZScore | Dichotomise | Recode | ConvertUnit | AgeAtVisit):
                found.append(f"transform {number} is not a transform: {transform!r}.")
                continue
            found += transform.problems()
            what = f"transform {number} ({transform.kind})"
            found += [
                f"{what} reads {name}, which is not selected (nor written by an earlier transform)."
                for name in transform.inputs
                if name not in available
            ]
            target = transform.target
            if target in written:
                found.append(
                    f"{what} writes {target}, as transform {written[target]} already does."
                )
            elif target in IDENTIFIERS:
                found.append(f"{what} writes {target}, an identifier.")
            elif target in self.variables and target not in transform.inputs:
                found.append(f"{what} writes {target}, which is a selected variable.")
            written[target] = number
            available.add(target)
        return found

    # --- what needs the dictionary -----------------------------------------------------------

    def problems(self, dictionary: Dictionary) -> list[str]:
        """What stops this spec from running against ``dictionary`` (empty: nothing)."""
        found = [
            f"{name} is not in the data dictionary (version {dictionary.version})."
            for name in self.variables
            if dictionary.variable(name) is None and name not in IDENTIFIERS
        ]
        types: dict[str, FieldType | None] = {}
        for name in self.variables:
            variable = dictionary.variable(name)
            types[name] = variable.type if variable else None
        for number, transform in enumerate(self.transforms, start=1):
            found += _type_problems(number, transform, types)
            types[transform.target] = _output_type(transform, types)
        return found

    def validate(self, dictionary: Dictionary) -> None:
        """Raise ``SpecError`` unless the spec can run against ``dictionary``."""
        found = self.problems(dictionary)
        if found:
            raise SpecError(found)

    # --- JSON --------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "variables": list(self.variables),
            "sources": [dict(s.__dict__) for s in self.sources],
            "transforms": [transform_to_dict(t) for t in self.transforms],
            "layout": self.layout,
            "timepoints": list(self.timepoints),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: object) -> Extraction:
        if not isinstance(data, dict):
            raise SpecError(["A spec is a JSON object."])
        found = [f"unknown key {k!r}." for k in data if k not in _KEYS]
        sources: list[Source] = []
        for number, item in enumerate(_list(data, "sources", found), start=1):
            try:
                sources.append(Source(**item))
            except TypeError as exc:
                found.append(f"source {number}: {exc}.")
        transforms: list[Transform] = []
        for number, item in enumerate(_list(data, "transforms", found), start=1):
            try:
                transforms.append(transform_from_dict(item))
            except (TypeError, ValueError) as exc:
                found.append(f"transform {number}: {exc}.")
        variables = _list(data, "variables", found)
        timepoints = _list(data, "timepoints", found)
        if found:
            raise SpecError(found)
        return cls(
            variables=tuple(variables),
            sources=tuple(sources),
            transforms=tuple(transforms),
            layout=data.get("layout", "long"),
            timepoints=tuple(timepoints),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Extraction:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise SpecError([f"The spec is not JSON: {exc}."]) from None
        return cls.from_dict(data)


_KEYS = {f.name for f in fields(Extraction)}


def _list(data: dict[str, Any], key: str, found: list[str]) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        found.append(f"{key} must be a list.")
        return []
    return value


def _repeated(items: Iterable[Any]) -> list[Any]:
    seen: set[Any] = set()
    repeated: list[Any] = []
    for item in items:
        if item in seen and item not in repeated:
            repeated.append(item)
        seen.add(item)
    return repeated


def _type_problems(
    number: int, transform: Transform, types: dict[str, FieldType | None]
) -> list[str]:
    what = f"transform {number} ({transform.kind})"
    known = {name: types.get(name) for name in transform.inputs}
    if any(kind is None for kind in known.values()):
        return []  # unknown variables are reported already
    kind = known[transform.inputs[0]]
    match transform:
        case ZScore() | Dichotomise() | ConvertUnit() if kind not in NUMERIC:
            return [f"{what}: {transform.variable} is {kind}, not a number."]
        case Recode():
            return _recode_problems(what, transform, kind)
        case AgeAtVisit():
            found = []
            if kind is not FieldType.YEARMONTH:
                found.append(f"{what}: {transform.birth_month_variable} is {kind}, not yearmonth.")
            visit = known[transform.visit_date_variable]
            if visit is not FieldType.DATE:
                found.append(f"{what}: {transform.visit_date_variable} is {visit}, not a date.")
            return found
    return []


def _recode_problems(what: str, transform: Recode, kind: FieldType | None) -> list[str]:
    if kind not in RECODABLE:
        return [f"{what}: {transform.variable} is {kind}; only text and numeric codes recode."]
    if kind not in NUMERIC:
        return []
    parse = int if kind is FieldType.INTEGER else float
    bad = []
    for code in (*transform.mapping, *transform.mapping.values()):
        try:
            parse(code)
        except ValueError:
            bad.append(code)
    if bad:
        return [
            f"{what}: {transform.variable} is {kind}, so its codes must be "
            f"{'whole numbers' if parse is int else 'numbers'}, not {', '.join(map(repr, bad))}."
        ]
    return []


def _output_type(transform: Transform, types: dict[str, FieldType | None]) -> FieldType | None:
    match transform:
        case Dichotomise():
            return FieldType.BOOLEAN
        case Recode():
            return types.get(transform.variable)
    return FieldType.NUMBER
