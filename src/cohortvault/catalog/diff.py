"""What changed between two versions of the dictionary: variables added, removed and changed,
and for a changed variable each property with its old and new value."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from cohortvault.catalog import cells
from cohortvault.catalog.schema import Dictionary, FieldType, Variable

PROPERTIES = tuple(f.name for f in fields(Variable) if f.name != "name")


@dataclass(frozen=True)
class PropertyChange:
    name: str  # the property (a CSV column), e.g. ``maximum``
    old: Any
    new: Any

    @property
    def old_text(self) -> str:
        return _text(self.name, self.old)

    @property
    def new_text(self) -> str:
        return _text(self.name, self.new)


@dataclass(frozen=True)
class VariableChange:
    name: str
    changes: tuple[PropertyChange, ...]

    @property
    def properties(self) -> tuple[str, ...]:
        return tuple(change.name for change in self.changes)


@dataclass(frozen=True)
class DictionaryDiff:
    old: int
    new: int
    added: tuple[Variable, ...]
    removed: tuple[Variable, ...]
    changed: tuple[VariableChange, ...]
    reordered: bool = False  # the variables kept are in another order

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.reordered)

    def summary(self) -> str:
        if self.empty:
            return "no changes"
        parts = [
            f"{count} {what}"
            for count, what in (
                (len(self.added), "added"),
                (len(self.removed), "removed"),
                (len(self.changed), "changed"),
            )
            if count
        ]
        return ", ".join(parts + (["reordered"] if self.reordered else []))

    def as_dict(self) -> dict[str, Any]:
        return {
            "old": self.old,
            "new": self.new,
            "added": [v.name for v in self.added],
            "removed": [v.name for v in self.removed],
            "reordered": self.reordered,
            "changed": [
                {
                    "name": change.name,
                    "properties": [
                        {"property": c.name, "old": _plain(c.old), "new": _plain(c.new)}
                        for c in change.changes
                    ],
                }
                for change in self.changed
            ],
        }


def compare(old: Dictionary, new: Dictionary) -> DictionaryDiff:
    before = {v.name: v for v in old.variables}
    after = {v.name: v for v in new.variables}
    changed = []
    for v in new.variables:
        previous = before.get(v.name)
        if previous is None:
            continue
        changes = tuple(
            PropertyChange(prop, getattr(previous, prop), getattr(v, prop))
            for prop in PROPERTIES
            if _differ(getattr(previous, prop), getattr(v, prop))
        )
        if changes:
            changed.append(VariableChange(v.name, changes))
    kept_before = [name for name in before if name in after]
    kept_after = [name for name in after if name in before]
    return DictionaryDiff(
        old=old.version,
        new=new.version,
        added=tuple(v for v in new.variables if v.name not in before),
        removed=tuple(v for v in old.variables if v.name not in after),
        changed=tuple(changed),
        reordered=kept_before != kept_after,
    )


def _differ(old: Any, new: Any) -> bool:
    """Unequal, counting the order of categories (which is how they are shown)."""
    if isinstance(old, dict) and isinstance(new, dict):
        return list(old.items()) != list(new.items())
    return bool(old != new)


def _plain(value: Any) -> Any:
    """A JSON value: enums as their text, tuples as lists."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, str):
        return str(value)
    return value


def _text(prop: str, value: Any) -> str:
    if prop == "categories":
        text = cells.format_categories(value)
    elif prop == "missing_values":
        text = cells.format_missing(value)
    elif isinstance(value, tuple):
        text = cells.format_list(value)
    elif isinstance(value, bool):
        text = cells.format_flag(value)
    elif isinstance(value, float):
        text = cells.format_number(value, FieldType.NUMBER)
    else:
        text = "" if value is None else str(value)
    return text or "—"
