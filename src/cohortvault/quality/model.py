"""What quality control produces: findings, what the reader detected, column summaries, the
missingness matrix and the report that holds them, serialisable to JSON and CSV.

Row numbers in messages count the header as row 1, as a spreadsheet and ``frictionless`` do:
the first data row is row 2 (for a CSV without line breaks inside quoted values, the line).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning")
#: Every check of the personal-data (de-identification) screen starts with this.
PERSONAL_DATA = "personal-data"
CSV_COLUMNS = ("severity", "check", "column", "rows", "row", "example", "message")


@dataclass(frozen=True)
class Finding:
    """One problem: which check, where, how many rows, an example (masked for personal data)."""

    severity: Severity
    check: str
    column: str | None
    rows: int
    example: str
    message: str
    row: int | None = None  # the first row where it occurs (the header is row 1)

    @property
    def personal_data(self) -> bool:
        return self.check.startswith(PERSONAL_DATA)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        severity = str(data["severity"])
        if severity not in SEVERITIES:
            raise ValueError(f"Unknown severity {severity!r}")
        column = data.get("column")
        return cls(
            severity=severity,
            check=str(data["check"]),
            column=None if column is None else str(column),
            rows=int(data.get("rows", 0)),
            example=str(data.get("example", "")),
            message=str(data.get("message", "")),
            row=None if data.get("row") is None else int(data["row"]),
        )


def error(
    check: str,
    message: str,
    *,
    column: str | None = None,
    rows: int = 0,
    example: str = "",
    row: int | None = None,
) -> Finding:
    return Finding("error", check, column, rows, example, message, row)


def warning(
    check: str,
    message: str,
    *,
    column: str | None = None,
    rows: int = 0,
    example: str = "",
    row: int | None = None,
) -> Finding:
    return Finding("warning", check, column, rows, example, message, row)


@dataclass(frozen=True)
class Detected:
    """What the reader found out about the file, reported to the uploader."""

    format: str  # csv, xlsx, sav, dta, rds, unknown
    size: int = 0  # bytes
    encoding: str | None = None
    delimiter: str | None = None
    rows: int = 0  # data rows, without the header
    columns: int = 0
    sheet: str | None = None
    sheets: tuple[str, ...] = ()
    variable_labels: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    missing_codes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["sheets"] = list(self.sheets)
        data["missing_codes"] = {k: list(v) for k, v in self.missing_codes.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Detected:
        return cls(
            format=str(data.get("format", "unknown")),
            size=int(data.get("size", 0)),
            encoding=data.get("encoding"),
            delimiter=data.get("delimiter"),
            rows=int(data.get("rows", 0)),
            columns=int(data.get("columns", 0)),
            sheet=data.get("sheet"),
            sheets=tuple(data.get("sheets") or ()),
            variable_labels=dict(data.get("variable_labels") or {}),
            value_labels={k: dict(v) for k, v in (data.get("value_labels") or {}).items()},
            missing_codes={k: tuple(v) for k, v in (data.get("missing_codes") or {}).items()},
        )


@dataclass(frozen=True)
class CategoryCount:
    code: str
    label: str
    count: int


@dataclass(frozen=True)
class ColumnSummary:
    """For the data manager: how full a column is and what is in it (never free-text values)."""

    name: str
    type: str  # the dictionary's type, or "unknown" for a column the dictionary lacks
    in_dictionary: bool
    rows: int
    non_missing: int
    missing: dict[str, int]  # missing-value code ("" for empty cells) -> rows
    minimum: float | None = None
    maximum: float | None = None
    mean: float | None = None
    earliest: str | None = None  # dates and year-months
    latest: str | None = None
    categories: tuple[CategoryCount, ...] = ()
    other_values: int = 0  # non-missing values outside the categories

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnSummary:
        values = dict(data)
        values["categories"] = tuple(CategoryCount(**c) for c in data.get("categories") or ())
        values["missing"] = {str(k): int(v) for k, v in (data.get("missing") or {}).items()}
        return cls(**values)


@dataclass(frozen=True)
class MissingnessCell:
    rows: int  # rows at this timepoint
    missing: int  # of which empty or a missing-value code
    expected: bool  # the dictionary expects the variable at this timepoint and site


@dataclass(frozen=True)
class Missingness:
    """Missing values by variable (rows of the matrix) and timepoint (columns)."""

    variables: tuple[str, ...] = ()
    timepoints: tuple[str, ...] = ()
    cells: dict[str, dict[str, MissingnessCell]] = field(default_factory=dict)
    absent: tuple[str, ...] = ()  # dictionary variables the file does not have

    def to_dict(self) -> dict[str, Any]:
        return {
            "variables": list(self.variables),
            "timepoints": list(self.timepoints),
            "cells": {v: {t: asdict(c) for t, c in row.items()} for v, row in self.cells.items()},
            "absent": list(self.absent),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Missingness:
        return cls(
            variables=tuple(data.get("variables") or ()),
            timepoints=tuple(data.get("timepoints") or ()),
            cells={
                v: {t: MissingnessCell(**c) for t, c in row.items()}
                for v, row in (data.get("cells") or {}).items()
            },
            absent=tuple(data.get("absent") or ()),
        )


@dataclass(frozen=True)
class Report:
    """The quality-control report of one file: acceptable only when ``ok`` (no errors)."""

    findings: list[Finding]
    columns: list[ColumnSummary]
    missingness: Missingness
    detected: Detected
    site: str = ""
    dictionary_version: int | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def personal_data(self) -> bool:
        """Personal data was found: the file should be locked to its uploader and data manager."""
        return any(f.personal_data for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "personal_data": self.personal_data,
            "site": self.site,
            "dictionary_version": self.dictionary_version,
            "seconds": round(self.seconds, 3),
            "counts": {"errors": len(self.errors), "warnings": len(self.warnings)},
            "detected": self.detected.to_dict(),
            "findings": [asdict(f) for f in self.findings],
            "columns": [asdict(c) for c in self.columns],
            "missingness": self.missingness.to_dict(),
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        return cls(
            findings=[Finding.from_dict(f) for f in data.get("findings") or ()],
            columns=[ColumnSummary.from_dict(c) for c in data.get("columns") or ()],
            missingness=Missingness.from_dict(data.get("missingness") or {}),
            detected=Detected.from_dict(data.get("detected") or {"format": "unknown"}),
            site=str(data.get("site", "")),
            dictionary_version=data.get("dictionary_version"),
            seconds=float(data.get("seconds", 0.0)),
        )

    @classmethod
    def from_json(cls, text: str) -> Report:
        return cls.from_dict(json.loads(text))

    def to_csv(self) -> str:
        """The findings, one per row; cells a spreadsheet would execute are neutralised."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for f in self.findings:
            cells = [
                f.severity,
                f.check,
                f.column or "",
                str(f.rows),
                "" if f.row is None else str(f.row),
                f.example,
                f.message,
            ]
            writer.writerow([safe_cell(cell) for cell in cells])
        return buffer.getvalue()


def safe_cell(value: str) -> str:
    """Neutralise a cell a spreadsheet would execute (CSV injection)."""
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value
