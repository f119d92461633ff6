"""A delivered column as the engine tracks it: its field (a dictionary ``Variable`` named and
described as delivered), the transforms that made it, and whether it holds one value per
subject; its values without missing-value codes (a Polars expression); and the SQL spelling
of names and values (for the wide layout's query).
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa

from cohortvault.catalog.schema import IDENTIFIERS, Dictionary, FieldType, Variable

ARROW_TYPES: dict[FieldType, pa.DataType] = {
    FieldType.INTEGER: pa.int64(),
    FieldType.NUMBER: pa.float64(),
    FieldType.BOOLEAN: pa.bool_(),
    FieldType.DATE: pa.date32(),
    FieldType.YEARMONTH: pa.string(),
    FieldType.STRING: pa.string(),
}
BOOLEAN_WORDS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


@dataclass(frozen=True)
class Column:
    """``field.missing_values`` holds every missing-value code of the column (its own and the
    dictionary's); ``transforms`` describes how it was made, in order."""

    field: Variable
    transforms: tuple[str, ...] = ()
    derived_from: tuple[str, ...] = ()
    subject_level: bool = False
    timepoint: str = ""  # wide layout: the timepoint of a variable's column
    variable: str = ""  # wide layout: the variable it holds at that timepoint

    @property
    def name(self) -> str:
        return self.field.name

    @property
    def type(self) -> FieldType:
        return self.field.type

    def value_codes(self) -> list[Any]:
        """The missing-value codes that are values of the column's type (``-99`` in an
        integer column): stored as values, so a transform must treat them as missing."""
        values = []
        for code in self.field.missing_values:
            value = typed_code(code, self.type)
            if value is not None:
                values.append(value)
        return values

    def to_field(self, *, required: bool = False) -> dict[str, Any]:
        described = self.field.to_field()
        extra = described.setdefault("cohortvault", {})
        if self.transforms:
            extra["derivedFrom"] = list(self.derived_from)
            extra["transforms"] = list(self.transforms)
        if self.subject_level:
            extra["level"] = "subject"
        if self.timepoint:
            extra["variable"] = self.variable
            extra["timepoint"] = self.timepoint
        if required:
            described.setdefault("constraints", {})["required"] = True
        return described

    def at(self, timepoint: str) -> Column:
        """This column's values at one timepoint (a column of the wide layout)."""
        label = self.field.label or self.name
        field = dataclasses.replace(
            self.field,
            name=f"{self.name}__{timepoint}",
            label=f"{label} at {timepoint}",
            timepoints=(timepoint,),
        )
        return dataclasses.replace(self, field=field, timepoint=timepoint, variable=self.name)


def dictionary_column(variable: Variable, dictionary: Dictionary) -> Column:
    """A selected variable as delivered: required only if an identifier (a site may lack any
    other), with the dictionary's missing-value codes spelled out beside its own."""
    codes = tuple(dict.fromkeys((*variable.missing_values, *dictionary.missing_values)))
    required = variable.name in IDENTIFIERS
    field = dataclasses.replace(variable, required=required, missing_values=codes)
    return Column(field=field)


def typed_code(code: str, kind: FieldType) -> Any:
    """``code`` as a value of ``kind``, or None if it is not one (stored as null then)."""
    text = code.strip()
    if not text:
        return None
    try:
        match kind:
            case FieldType.INTEGER:
                return int(text)
            case FieldType.NUMBER:
                return float(text)
            case FieldType.BOOLEAN:
                return BOOLEAN_WORDS.get(text.lower())
            case FieldType.DATE:
                return datetime.date.fromisoformat(text)
    except ValueError:
        return None
    return code


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str:
    """A Python value as a SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value!r}::DOUBLE"
    if isinstance(value, datetime.date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def present(column: Column) -> pl.Expr:
    """The column's values with missing-value codes (and, for numbers, NaN and infinities)
    as null: what transforms compute with."""
    value = pl.col(column.name)
    codes = column.value_codes()
    keep = value.is_in(codes).not_() if codes else None
    if column.type is FieldType.NUMBER:
        keep = value.is_finite() if keep is None else keep & value.is_finite()
    return value if keep is None else pl.when(keep).then(value)
