"""The data dictionary as typed values, read from and written to a Frictionless Table Schema.

A dictionary is a Table Schema (https://specs.frictionlessdata.io/table-schema/) whose fields
carry, besides the standard ``name``, ``type``, ``title``, ``description``, ``constraints``
and ``missingValues``, the properties curators need, under a ``cohortvault`` key per field:
unit, category labels, domain, sensitivity, identifier role, and which sites and timepoints are
expected to provide the variable. R's and Python's Frictionless libraries ignore what they do
not know, so the same file serves them unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cohortvault.errors import Invalid

IDENTIFIERS = ("subject_id", "timepoint", "site")


class FieldType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    YEARMONTH = "yearmonth"


class Sensitivity(StrEnum):
    ORDINARY = "ordinary"
    SENSITIVE = "sensitive"  # special-category data (health, ethnicity, …)
    IDENTIFYING = "identifying"  # quasi-identifiers: birth month/year, sex, site


@dataclass(frozen=True)
class Variable:
    name: str
    type: FieldType
    label: str = ""
    description: str = ""
    unit: str = ""
    domain: str = ""
    sensitivity: Sensitivity = Sensitivity.ORDINARY
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    pattern: str = ""
    categories: dict[str, str] = field(default_factory=dict)  # code -> label; empty: any value
    missing_values: tuple[str, ...] = ()
    identifier: bool = False
    sites: tuple[str, ...] = ()  # expected from these sites (empty: all)
    timepoints: tuple[str, ...] = ()  # expected at these timepoints (empty: all)

    def to_field(self) -> dict[str, Any]:
        constraints: dict[str, Any] = {}
        if self.required:
            constraints["required"] = True
        if self.minimum is not None:
            constraints["minimum"] = _number(self.minimum, self.type)
        if self.maximum is not None:
            constraints["maximum"] = _number(self.maximum, self.type)
        if self.pattern:
            constraints["pattern"] = self.pattern
        if self.categories:
            constraints["enum"] = [_category(code, self.type) for code in self.categories]
        extra: dict[str, Any] = {
            "unit": self.unit,
            "domain": self.domain,
            "sensitivity": self.sensitivity.value,
            "identifier": self.identifier,
            "categories": self.categories,
            "sites": list(self.sites),
            "timepoints": list(self.timepoints),
        }
        described: dict[str, Any] = {"name": self.name, "type": self.type.value}
        if self.label:
            described["title"] = self.label
        if self.description:
            described["description"] = self.description
        if constraints:
            described["constraints"] = constraints
        if self.missing_values:
            described["missingValues"] = list(self.missing_values)
        kept = {k: v for k, v in extra.items() if v not in ("", [], {}, False)}
        if self.name in IDENTIFIERS:  # these default to True, so a False must be written down
            kept["identifier"] = self.identifier
        described["cohortvault"] = kept
        return described

    @classmethod
    def from_field(cls, described: dict[str, Any]) -> Variable:
        try:
            name = str(described["name"])
            kind = FieldType(described.get("type", "string"))
            sensitivity = Sensitivity(
                (described.get("cohortvault") or {}).get("sensitivity", Sensitivity.ORDINARY.value)
            )
        except (KeyError, ValueError) as exc:
            raise Invalid(f"Field {described.get('name')!r}: {exc}") from None
        constraints = described.get("constraints") or {}
        extra = described.get("cohortvault") or {}
        categories = {str(k): str(v) for k, v in (extra.get("categories") or {}).items()}
        for code in constraints.get("enum") or []:
            categories.setdefault(str(code), str(code))
        return cls(
            name=name,
            type=kind,
            label=str(described.get("title", "")),
            description=str(described.get("description", "")),
            unit=str(extra.get("unit", "")),
            domain=str(extra.get("domain", "")),
            sensitivity=sensitivity,
            required=bool(constraints.get("required", False)),
            minimum=_maybe_float(constraints.get("minimum")),
            maximum=_maybe_float(constraints.get("maximum")),
            pattern=str(constraints.get("pattern", "")),
            categories=categories,
            missing_values=tuple(str(v) for v in described.get("missingValues") or ()),
            identifier=bool(extra.get("identifier", name in IDENTIFIERS)),
            sites=_codes(extra.get("sites"), name, "sites"),
            timepoints=_codes(extra.get("timepoints"), name, "timepoints"),
        )


def _codes(value: Any, name: str, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise Invalid(f"Field {name!r}: {what} must be a list of codes.")
    return tuple(value)


def _number(value: float, kind: FieldType) -> float | int:
    if kind is FieldType.INTEGER:
        if value != int(value):
            raise Invalid(
                f"{value} is not a whole number, as an integer variable's bounds must be."
            )
        return int(value)
    return value


def _category(code: str, kind: FieldType) -> str | int:
    return int(code) if kind is FieldType.INTEGER and code.lstrip("-").isdigit() else code


def _maybe_float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise Invalid(f"{value!r} is not a number") from None


@dataclass(frozen=True)
class Dictionary:
    """A version of the consortium's harmonized variables."""

    version: int
    variables: tuple[Variable, ...]
    missing_values: tuple[str, ...] = ("",)

    def __post_init__(self) -> None:
        names = [v.name for v in self.variables]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise Invalid(f"Variables defined twice: {', '.join(duplicates)}.")
        missing = [name for name in IDENTIFIERS if name not in names]
        if missing:
            raise Invalid(f"The identifier columns {', '.join(missing)} must be defined.")

    def variable(self, name: str) -> Variable | None:
        return next((v for v in self.variables if v.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)

    def to_table_schema(self) -> dict[str, Any]:
        return {
            "fields": [v.to_field() for v in self.variables],
            "missingValues": list(self.missing_values),
            "primaryKey": ["subject_id", "timepoint"],
            "cohortvault": {"dictionaryVersion": self.version},
        }

    @classmethod
    def from_table_schema(cls, schema: dict[str, Any], *, version: int) -> Dictionary:
        if not isinstance(schema, dict) or not isinstance(schema.get("fields"), list):
            raise Invalid("A Table Schema needs a list of fields.")
        return cls(
            version=version,
            variables=tuple(Variable.from_field(f) for f in schema["fields"]),
            missing_values=tuple(str(v) for v in schema.get("missingValues", [""])),
        )
