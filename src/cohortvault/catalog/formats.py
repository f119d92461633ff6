"""The file formats of the dictionary: JSON Table Schema, CSV and XLSX, read and written.

``read`` turns a file into drafts for ``validation.check``; ``write`` turns a checked
dictionary into a file. Whatever ``write`` produces, ``read`` and ``check`` turn back into the
same dictionary, in every format.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from cohortvault.catalog import sheets
from cohortvault.catalog.schema import Dictionary
from cohortvault.catalog.validation import Draft, Parsed, Problem


class Format(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"

    @property
    def media_type(self) -> str:
        return {
            Format.JSON: "application/json",
            Format.CSV: "text/csv; charset=utf-8",
            Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }[self]

    @classmethod
    def of(cls, value: str) -> Format:
        """The format named ``value`` (or by a file name's extension), or ``ValueError``."""
        word = value.strip().lower().rsplit(".", 1)[-1]
        try:
            return cls(word)
        except ValueError:
            raise ValueError(
                f"{value!r} is not a dictionary format; use one of {', '.join(cls)}"
            ) from None


def write(dictionary: Dictionary, format: Format) -> bytes:
    match format:
        case Format.JSON:
            text = json.dumps(dictionary.to_table_schema(), indent=2, ensure_ascii=False)
            return (text + "\n").encode("utf-8")
        case Format.CSV:
            return sheets.write_csv(dictionary)
        case Format.XLSX:
            return sheets.write_xlsx(dictionary)


def read(data: bytes, format: Format) -> Parsed:
    if not data.strip():
        return Parsed(problems=[Problem("The file is empty.")])
    match format:
        case Format.JSON:
            return read_json(data)
        case Format.CSV:
            return sheets.read_csv(data)
        case Format.XLSX:
            return sheets.read_xlsx(data)


# --- JSON Table Schema ----------------------------------------------------------------------

SCHEMA_KEYS = {"fields", "missingValues", "primaryKey", "cohortvault", "$schema"}
FIELD_KEYS = {"name", "type", "format", "title", "description", "constraints", "missingValues"}
CONSTRAINTS = {"required": "required", "minimum": "minimum", "maximum": "maximum"}
EXTENSION = ("unit", "domain", "sensitivity", "identifier", "sites", "timepoints")
PRIMARY_KEY = ["subject_id", "timepoint"]


def read_json(data: bytes) -> Parsed:
    try:
        schema = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return Parsed(problems=[Problem("The file is not UTF-8 text.")])
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        return Parsed(problems=[Problem(f"The file is not valid JSON: {exc.msg}", location=where)])
    except RecursionError:
        return Parsed(problems=[Problem("The JSON is nested too deeply to be a Table Schema.")])
    if isinstance(schema, dict) and "resources" in schema:
        return Parsed(
            problems=[Problem("This is a Data Package; import the Table Schema of its resource.")]
        )
    if not isinstance(schema, dict) or not isinstance(schema.get("fields"), list):
        return Parsed(problems=[Problem('A Table Schema is an object with a list of "fields".')])
    parsed = Parsed()
    for key in sorted(set(schema) - SCHEMA_KEYS):
        parsed.problems.append(Problem(f"unknown schema property {key!r}", property=key))
    if schema.get("primaryKey", PRIMARY_KEY) not in (PRIMARY_KEY, ",".join(PRIMARY_KEY)):
        parsed.problems.append(
            Problem("the primary key is always subject_id, timepoint", property="primaryKey")
        )
    shared = _shared_missing_values(schema.get("missingValues", [""]), parsed)
    for index, described in enumerate(schema["fields"], start=1):
        draft = Draft(location=f"field {index}", values={})
        parsed.drafts.append(draft)
        if not isinstance(described, dict):
            draft.problems.append(Problem("a field is an object", location=draft.location))
            continue
        _read_field(described, draft)
        if shared and "missing_values" not in draft.values:
            draft.values["missing_values"] = list(shared)
    return parsed


def _shared_missing_values(raw: Any, parsed: Parsed) -> list[str]:
    """Dictionary-wide missing values other than the empty cell move onto each field (the
    spreadsheet forms have no place for them; under Table Schema rules a field's own list
    replaces the dictionary-wide one, so the meaning is the same)."""
    if not isinstance(raw, list) or not all(isinstance(code, str) for code in raw):
        parsed.problems.append(
            Problem("missingValues is a list of text codes", property="missingValues")
        )
        return []
    if raw == [""]:
        return []
    parsed.warnings.append(
        f"The dictionary-wide missing values {raw} were given to every variable that has no "
        "missing-value codes of its own."
    )
    return list(raw)


def _read_field(described: dict[str, Any], draft: Draft) -> None:
    values = draft.values
    name = described.get("name")
    label = name if isinstance(name, str) else ""

    def problem(prop: str, message: str) -> None:
        draft.problems.append(Problem(message, draft.location, label, prop))

    for key in sorted(set(described) - FIELD_KEYS - {"cohortvault"}):
        problem(key, f"{key!r} is not part of the dictionary format")
    if described.get("format", "default") != "default":
        problem("format", "only the default format is supported")
    for key, prop in (("name", "name"), ("type", "type"), ("title", "label")):
        if key in described:
            values[prop] = described[key]
    for key, prop in (("description", "description"), ("missingValues", "missing_values")):
        if key in described:
            values[prop] = described[key]
    constraints = _object(described.get("constraints"), "constraints", problem)
    for key in sorted(set(constraints) - {*CONSTRAINTS, "pattern", "enum"}):
        problem(key, f"the constraint {key!r} is not supported by the dictionary")
    for key, prop in (*CONSTRAINTS.items(), ("pattern", "pattern")):
        if key in constraints:
            values[prop] = constraints[key]
    extension = _object(described.get("cohortvault"), "cohortvault", problem)
    for key in sorted(set(extension) - {*EXTENSION, "categories"}):
        problem(key, f"{key!r} is not a cohortvault property")
    for key in EXTENSION:
        if key in extension:
            values[key] = extension[key]
    categories = _categories(constraints.get("enum"), extension.get("categories"), problem)
    if categories is not None:
        values["categories"] = categories


def _object(raw: Any, key: str, problem: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problem(key, f"{key!r} is an object")
        return {}
    return raw


def _categories(enum: Any, labels: Any, problem: Any) -> dict[str, Any] | None:
    """The enum constraint and the category labels, as one mapping of code to label."""
    if enum is None and labels is None:
        return None
    if labels is not None and not isinstance(labels, dict):
        problem("categories", "categories is an object of code: label")
        return None
    labels = labels or {}
    if enum is None:
        return dict(labels)
    if not isinstance(enum, list) or not enum:
        problem("categories", "the enum constraint is a non-empty list")
        return None
    codes = []
    for value in enum:
        if isinstance(value, bool) or not isinstance(value, str | int):
            problem("categories", f"enum value {value!r} is neither text nor a whole number")
            return None
        codes.append(str(value))
    unlisted = [code for code in labels if code not in codes]
    if unlisted:
        problem("categories", f"{', '.join(unlisted)} have labels but are not in the enum")
    if len(set(codes)) != len(codes):
        problem("categories", "the enum lists a code twice")
    return {code: labels.get(code, code) for code in codes}
