"""The dictionary as a page for people (``data-dictionary.md`` in the common area)."""

from __future__ import annotations

import re
from datetime import datetime

from cohortvault.catalog import cells
from cohortvault.catalog.schema import Dictionary, Variable

_SPECIAL = re.compile(r"([\\`*_\[\]<>|&!~#])")


def escape(text: str) -> str:
    """Text that Markdown shows as written, on one line (safe inside a table cell)."""
    return _SPECIAL.sub(r"\\\1", " ".join(text.split()))


def value_range(v: Variable) -> str:
    """``0–30``, ``0–`` or ``–30``; empty without bounds."""
    if v.minimum is None and v.maximum is None:
        return ""
    low = "" if v.minimum is None else cells.format_number(v.minimum, v.type)
    high = "" if v.maximum is None else cells.format_number(v.maximum, v.type)
    return f"{low}–{high}"


def valid_values(v: Variable) -> str:
    """Range, categories or pattern, as one line of plain text."""
    parts = []
    if v.minimum is not None or v.maximum is not None:
        parts.append(value_range(v))
    if v.categories:
        parts.append("; ".join(f"{code} = {label}" for code, label in v.categories.items()))
    if v.pattern:
        parts.append(f"pattern {v.pattern}")
    return "; ".join(parts)


def missing_codes(v: Variable) -> str:
    return ", ".join('""' if code == "" else code for code in v.missing_values)


def expected(v: Variable) -> str:
    sites = ", ".join(v.sites) if v.sites else "all sites"
    timepoints = ", ".join(v.timepoints) if v.timepoints else "all timepoints"
    return f"{sites}; {timepoints}"


def domains(dictionary: Dictionary) -> dict[str, list[Variable]]:
    """Variables grouped by domain, in the order the domains first appear."""
    grouped: dict[str, list[Variable]] = {}
    for v in dictionary.variables:
        grouped.setdefault(v.domain or "other", []).append(v)
    return grouped


def render(
    dictionary: Dictionary, *, created_at: datetime, created_by: str, note: str, checksum: str
) -> str:
    lines = [
        f"# Data dictionary, version {dictionary.version}",
        "",
        f"Imported by {escape(created_by)} on {created_at:%Y-%m-%d %H:%M} UTC"
        + (f": {escape(note)}" if note else "."),
        f"{len(dictionary.variables)} variables. SHA-256 of the canonical JSON: `{checksum}`.",
        "",
        "The same dictionary as a Frictionless Table Schema is `data-dictionary.json`; as a "
        "spreadsheet, `data-dictionary.csv` and `data-dictionary.xlsx`. Missing-value codes mark "
        'a value as missing; `""` is the empty cell. Identifier columns are in every file.',
    ]
    for domain, variables in domains(dictionary).items():
        lines += [
            "",
            f"## {escape(domain)} ({len(variables)})",
            "",
            "| Variable | Label | Type | Unit | Valid values | Missing codes | Sensitivity "
            "| Expected from |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for v in variables:
            name = f"`{v.name}`" + (" (identifier)" if v.identifier else "")
            required = ", required" if v.required else ""
            cells_ = [
                name,
                escape(v.label),
                f"{v.type}{required}",
                escape(v.unit),
                escape(valid_values(v)),
                escape(missing_codes(v)),
                v.sensitivity.value,
                escape(expected(v)),
            ]
            lines.append("| " + " | ".join(cells_) + " |")
        described = [v for v in variables if v.description]
        if described:
            lines.append("")
            lines += [f"- `{v.name}`: {escape(v.description)}" for v in described]
    return "\n".join(lines) + "\n"
