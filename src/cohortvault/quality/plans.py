"""The statistics pass's machinery: named aggregates over derived columns, evaluated column
group by column group, and the plan of one column (its result keys and the masks of its
checks), with what follows from the statistics."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from cohortvault.catalog.schema import FieldType, Variable

BIG_NUMBER = 1e8  # nine digits or more: may be an identity or telephone number
#: Names of the engine's own columns start with a NUL, which no header of any reader can hold.
INTERNAL = "\x00"
TIMEPOINT_INDEX = f"{INTERNAL}timepoint"  # added by the caller: the row's timepoint, as a number
COUNT = f"{INTERNAL}n"  # the count field of a value count (a column's own field is its name)
TEXT_OF = f"{INTERNAL}text:"  # + a number column's name: the text of its cells that need it


class Aggregates:
    """Named scalar expressions over derived columns, evaluated group by group.

    A column's derived values come in stages (a ``with_columns`` each): first what parses the
    raw text, then what uses the parse, then what uses those. Polars does not reliably share a
    parse between expressions, so each is written once and used by name.
    """

    BATCH = 16
    STAGES = 3

    def __init__(self) -> None:
        self._groups: list[tuple[list[list[pl.Expr]], list[pl.Expr]]] = []
        self._count = 0

    def group(self) -> None:
        self._groups.append(([[] for _ in range(self.STAGES)], []))

    def derive(self, expr: pl.Expr, *, stage: int = 1, name: str | None = None) -> pl.Expr:
        """A derived column; ``stage`` must be above that of every derived column it reads."""
        if name is None:
            name = f"{INTERNAL}derived{self._count}"
            self._count += 1
        self._groups[-1][0][stage].append(expr.alias(name))
        return pl.col(name)

    def add(self, expr: pl.Expr) -> str:
        key = f"_{self._count}"
        self._count += 1
        self._groups[-1][1].append(expr.alias(key))
        return key

    def run(self, frame: pl.DataFrame) -> dict[str, Any]:
        results: dict[str, Any] = {}
        for start in range(0, len(self._groups), self.BATCH):
            batch = self._groups[start : start + self.BATCH]
            aggregates = [e for _, group in batch for e in group]
            if not aggregates:
                continue
            query = frame.lazy()
            for stage in range(self.STAGES):
                derived = [e for stages, _ in batch for e in stages[stage]]
                if derived:
                    query = query.with_columns(derived)
            results.update(query.select(aggregates).collect().row(0, named=True))
        return results

    def __len__(self) -> int:
        return sum(len(group) for _, group in self._groups)


@dataclass
class Plan:
    """What is asked of one column: result keys, and the raw-column masks of its checks.

    The masks, ``present`` and ``screen`` read the columns of ``prepared`` (a parse, by name),
    which ``prepare`` adds to the frame before they are evaluated.
    """

    name: str
    variable: Variable | None
    codes: tuple[str, ...]  # non-empty missing-value codes
    keys: dict[str, str] = field(default_factory=dict)
    masks: dict[str, pl.Expr] = field(default_factory=dict)  # check -> the rows it flags
    pattern_invalid: str | None = None
    present: pl.Expr = field(default_factory=lambda: pl.lit(True))
    screen: pl.Expr = field(default_factory=lambda: pl.lit(False))  # cells to screen
    category_codes: tuple[str, ...] = ()
    counted_inside: bool = False  # the cells inside the categories: the sum of their counts
    code_values: dict[str, float | int] = field(default_factory=dict)  # counted in "codes"
    prepared: list[pl.Expr] = field(default_factory=list)
    typed: bool = False  # the column holds numbers (read so)
    text_column: str | None = None  # then: the text of its cells that need it (null elsewhere)

    @property
    def written(self) -> pl.Expr:
        """The column's cells as text where a check reads text: every cell of a text column;
        of a number column, the cells that are not numbers or are big numbers."""
        if not self.typed:
            return pl.col(self.name)
        if self.text_column is None:
            return pl.lit(None, dtype=pl.String)
        return pl.col(self.text_column)

    def example(self, mask: pl.Expr) -> pl.Expr:
        """The first cell of ``mask``, as text (a number as it reads: 80, not 80.0)."""
        if not self.typed:
            return pl.col(self.name).filter(mask).first()
        number = pl.col(self.name).filter(mask).first()
        whole = number.cast(pl.Int64, strict=False)
        written = pl.coalesce(
            pl.when(whole == number).then(whole.cast(pl.String)), number.cast(pl.String)
        )
        return pl.coalesce(self.written.filter(mask).first(), written)

    @property
    def kind(self) -> str:
        return self.variable.type.value if self.variable else "unknown"

    @property
    def text(self) -> bool:
        return self.variable is None or self.variable.type is FieldType.STRING

    def value(self, results: dict[str, Any], key: str) -> Any:
        return results.get(self.keys[key]) if key in self.keys else None

    def count(self, results: dict[str, Any], key: str) -> int:
        return int(self.value(results, key) or 0)

    def code_count(self, results: dict[str, Any], code: str) -> int:
        """Cells holding the missing-value code (compared as numbers where it is one)."""
        if code not in self.code_values:
            return self.count(results, f"code:{code}")
        counted = {}
        for item in self.value(results, "codes") or ():
            value = next(v for k, v in item.items() if k != COUNT)
            counted[_number_key(value)] = int(item[COUNT])
        return counted.get(_number_key(self.code_values[code]), 0)

    def present_count(self, results: dict[str, Any], rows: int) -> int:
        codes = sum(self.code_count(results, c) for c in self.codes)
        return rows - self.count(results, "nulls") - codes

    def category_counts(self, results: dict[str, Any]) -> list[tuple[str, int]]:
        counted = {}
        for item in self.value(results, "values") or ():
            value = next(v for k, v in item.items() if k != COUNT)  # the field is the column's name
            counted[_code_text(value)] = int(item[COUNT])
        for code in self.category_codes:
            if f"count:{code}" in self.keys:
                counted[code] = self.count(results, f"count:{code}")
        return [(code, counted.get(_code_text(code), 0)) for code in self.category_codes]

    def missing_at(self, results: dict[str, Any]) -> dict[int, int]:
        """Missing values (empty or a code) by timepoint index."""
        items = self.value(results, "timepoints") or ()
        return {int(item[TIMEPOINT_INDEX]): int(item[COUNT]) for item in items}

    def suspects(self, results: dict[str, Any], rows: int) -> list[str]:
        """The checks that may have found something, judging by the statistics."""
        found = []
        present = self.present_count(results, rows)
        if "required" in self.masks and self.count(results, "nulls"):
            found.append("required")
        if "type" in self.masks and present > self.count(results, "valid"):
            found.append("type")
        variable = self.variable
        if "range" in self.masks and variable is not None:
            low, high = self.value(results, "min"), self.value(results, "max")
            if (variable.minimum is not None and low is not None and low < variable.minimum) or (
                variable.maximum is not None and high is not None and high > variable.maximum
            ):
                found.append("range")
        outside = self.outside_count(results, rows)
        if "category" in self.masks and outside:
            found.append("category")
        if "pattern" in self.masks and self.count(results, "pattern"):
            found.append("pattern")
        if "formula" in self.masks:
            if "formula" in self.keys:
                suspect = self.count(results, "formula") > 0
            elif self.text:
                suspect = outside > 0
            else:
                suspect = "type" in found
            if suspect:
                found.append("formula")
        return found

    def outside_count(self, results: dict[str, Any], rows: int) -> int:
        """Valid cells outside the categories."""
        if self.counted_inside:
            inside = sum(self.count(results, f"count:{c}") for c in self.category_codes)
        elif "inside" in self.keys:
            inside = self.count(results, "inside")
        else:
            return 0
        valid = (
            self.count(results, "valid")
            if "valid" in self.keys
            else self.present_count(results, rows)
        )
        return valid - inside

    def big(self, results: dict[str, Any]) -> bool:
        low, high = self.value(results, "min"), self.value(results, "max")
        return (high is not None and high >= BIG_NUMBER) or (low is not None and low <= -BIG_NUMBER)


def _number_key(value: float | int) -> float | int | str:
    """A number as a dictionary key; Polars takes NaN as equal to NaN, and so does this."""
    return "nan" if isinstance(value, float) and math.isnan(value) else value


def _code_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def needs_screen(plan: Plan, results: dict[str, Any], rows: int) -> bool:
    """Whether the column can have cells the screen looks at, judging by the statistics."""
    if plan.variable is None:
        return True
    if plan.variable.type is FieldType.STRING:
        return not plan.variable.categories or plan.outside_count(results, rows) > 0
    present = plan.present_count(results, rows)
    return present > plan.count(results, "valid") or plan.big(results)


def prepare(frame: pl.DataFrame, plans: list[Plan]) -> pl.DataFrame:
    """The frame with the prepared columns (parses) the masks of ``plans`` read."""
    prepared = [e for plan in plans for e in plan.prepared]
    return frame.with_columns(prepared) if prepared else frame


@dataclass(frozen=True)
class Detail:
    count: int
    row: int  # the first row (the header is row 1)
    value: Any


def details(
    frame: pl.DataFrame, plans: list[Plan], results: dict[str, Any]
) -> dict[tuple[str, str], Detail]:
    """Count, first row and its value of every (column, check) that may have found something:
    one query over the raw columns, for those pairs only. ``frame`` must be ``prepare``d for
    the plans with suspects."""
    wanted = [(plan, label) for plan in plans for label in plan.suspects(results, frame.height)]
    if not wanted:
        return {}
    masks = [plan.masks[label].alias(f"{INTERNAL}m{k}") for k, (plan, label) in enumerate(wanted)]
    exprs = []
    for k, (plan, _) in enumerate(wanted):
        mask = pl.col(f"{INTERNAL}m{k}")
        exprs += [
            mask.sum().alias(f"n{k}"),
            mask.arg_true().first().alias(f"r{k}"),
            plan.example(mask).alias(f"v{k}"),
        ]
    row = frame.lazy().with_columns(masks).select(exprs).collect().row(0, named=True)
    found = {}
    for k, (plan, label) in enumerate(wanted):
        if row[f"n{k}"]:
            found[(plan.name, label)] = Detail(
                int(row[f"n{k}"]), int(row[f"r{k}"]) + 2, row[f"v{k}"]
            )
    return found
