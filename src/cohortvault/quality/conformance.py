"""Conformance to the dictionary, in two vectorised passes over all columns at once.

The *statistics pass* computes, per column, what is cheap to aggregate: empty cells, each
missing-value code (the variable's and the dictionary's, allowed and counted), how many cells
parse as the variable's type, minimum, maximum and mean, the counts of each category, missing
values per timepoint, and for text the cells failing the pattern or looking like formulas.
Most checks follow from these without a pass of their own: type failures are present cells
that do not parse, a range check can only fail if the minimum or maximum is outside the
bounds. The *issue pass* then runs only for the (column, check) pairs that may have found
something, for the exact count, the first row and an example value.

A column's parse happens once (``Aggregates.derive`` stage 0) and is used by name; groups of
``BATCH`` columns run as one query, which bounds the memory of the derived columns.
An empty cell is a null (readers turn empty strings into nulls); a cell of spaces is a value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from cohortvault.catalog.schema import Dictionary, FieldType, Variable
from cohortvault.quality.plans import (
    BIG_NUMBER,
    COUNT,
    INTERNAL,
    TEXT_OF,
    TIMEPOINT_INDEX,
    Aggregates,
    Plan,
)

TRUE_VALUES = ("true", "True", "TRUE", "1")
FALSE_VALUES = ("false", "False", "FALSE", "0")
PLAIN_NUMBER = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
FORMULA_START = r"^[=+\-@\t\r]"
YEARMONTH = r"^\d{4}-(?:0[1-9]|1[0-2])$"
MAX_CATEGORY_COUNTS = 60
FEW_CATEGORIES = 8
NUMERIC = (FieldType.INTEGER, FieldType.NUMBER)


def missing_codes(variable: Variable | None, dictionary: Dictionary) -> tuple[str, ...]:
    own = variable.missing_values if variable else ()
    return tuple(dict.fromkeys(c for c in (*own, *dictionary.missing_values) if c != ""))


def plan(
    agg: Aggregates,
    frame: pl.DataFrame,
    dictionary: Dictionary,
    *,
    owned_by_identifiers: frozenset[str],
    timepoints: int = 0,
) -> list[Plan]:
    """Register every column's statistics. Columns in ``owned_by_identifiers`` get no category
    finding (the identifier checks report them); ``timepoints`` is how many values
    ``TIMEPOINT_INDEX`` takes (0: no missingness per timepoint)."""
    return [
        _plan_column(
            agg,
            name,
            dictionary.variable(name),
            dictionary,
            owned=name in owned_by_identifiers,
            timepoints=timepoints,
            typed=frame.schema[name].is_numeric(),
            text=TEXT_OF + name if TEXT_OF + name in frame.columns else None,
        )
        for name in frame.columns
        if not name.startswith(INTERNAL)
    ]


def numbers_of(dictionary: Dictionary) -> dict[str, pl.DataType]:
    """The variables a delimited text file may be read with as numbers (``read(numbers=)``):
    integers and numbers, not identifiers, whose missing-value codes are all numbers."""
    return {
        v.name: pl.Int64() if v.type is FieldType.INTEGER else pl.Float64()
        for v in dictionary.variables
        if v.type in NUMERIC
        and not v.identifier
        and all(_is_number(c) for c in missing_codes(v, dictionary))
    }


def _plan_column(
    agg: Aggregates,
    name: str,
    variable: Variable | None,
    dictionary: Dictionary,
    *,
    owned: bool,
    timepoints: int,
    typed: bool,
    text: str | None,
) -> Plan:
    """``typed``: the column holds numbers (read so), and ``text``, if any, names the column of
    the text of its cells that are not numbers or are big numbers (null elsewhere)."""
    agg.group()
    column = pl.col(name)
    codes = missing_codes(variable, dictionary)
    result = Plan(name, variable, codes, typed=typed, text_column=text)
    empty = column.is_null()
    if text is not None:
        empty = empty & pl.col(text).is_null()
    result.keys["nulls"] = agg.add(empty.sum() if text else column.null_count())
    if variable is not None and variable.required:
        result.masks["required"] = empty
    if variable is not None and variable.type in NUMERIC:
        parsed = _numeric(agg, result, variable, column, empty)
    else:
        parsed = _textual(agg, result, variable, column)
    if variable is not None and variable.categories:
        outside = _categories(agg, result, variable, column, parsed, owned=owned)
    else:
        outside = None
    if variable is not None and variable.pattern:
        _pattern(agg, result, variable.pattern, column, parsed)
    if variable is not None and not variable.identifier and timepoints:
        missing_at = pl.col(TIMEPOINT_INDEX).filter(parsed.missing)
        result.keys["timepoints"] = agg.add(missing_at.value_counts(name=COUNT).implode())
    result.present = parsed.raw_present
    result.screen = _screen(result, parsed, outside)
    return result


@dataclass(frozen=True)
class _Parsed:
    """A column's parse in the two passes. The statistics pass reads derived columns:
    ``missing`` (empty or a code), ``present`` (the other cells) and ``values`` (the valid
    values present; None for text without a type). The masks read the raw column and the
    prepared parse: ``raw_present``, ``raw_valid`` (None for text) and ``number``."""

    missing: pl.Expr
    present: pl.Expr | None
    values: pl.Expr | None
    raw_present: pl.Expr
    raw_valid: pl.Expr | None
    number: pl.Expr | None = None


def _numeric(
    agg: Aggregates, plan: Plan, variable: Variable, column: pl.Expr, empty: pl.Expr
) -> _Parsed:
    """Parse once (a prepared column; none if the column holds numbers already); everything
    else from the parse (codes compare as numbers where they are numbers)."""
    kind = variable.type
    parse = column.cast(pl.Int64 if kind is FieldType.INTEGER else pl.Float64, strict=False)
    number = agg.derive(parse, stage=0, name=f"{INTERNAL}number:{plan.name}")
    plan.prepared.append(parse.alias(f"{INTERNAL}number:{plan.name}"))
    integer = kind is FieldType.INTEGER
    valid = number.is_not_null() if integer else number.is_finite().fill_null(False)
    numeric_codes = all(_is_number(c) for c in plan.codes)
    if not numeric_codes:
        for code in plan.codes:
            plan.keys[f"code:{code}"] = agg.add((column == code).sum())
    raw_code = _is_code(column, plan.codes, number, kind) if plan.codes else None
    finite = number.is_finite()  # null where the parse is: when() takes that as False
    if raw_code is None:
        missing = empty
        values = number if integer else agg.derive(pl.when(finite).then(number))
        raw_present = ~empty
    else:
        is_code = agg.derive(raw_code)
        if numeric_codes:  # one count of the (few) code cells' values
            plan.code_values = {c: _as_number(c, kind) for c in plan.codes}
            codes_found = number.filter(is_code).value_counts(name=COUNT).implode()
            plan.keys["codes"] = agg.add(codes_found)
        missing = empty | is_code
        kept = ~is_code if integer else finite & ~is_code
        values = agg.derive(pl.when(kept).then(number), stage=2)
        raw_present = ~empty & ~raw_code
    plan.keys["valid"] = agg.add(values.count())
    plan.keys["min"] = agg.add(values.min())
    plan.keys["max"] = agg.add(values.max())
    plan.keys["mean"] = agg.add(values.mean())
    low, high = variable.minimum, variable.maximum
    if low is not None or high is not None:
        out = pl.lit(False)
        if low is not None:
            out = out | (number < low)
        if high is not None:
            out = out | (number > high)
        plan.masks["range"] = raw_present & valid & out.fill_null(False)
    plan.masks["type"] = raw_present & ~valid
    plan.masks["formula"] = _where(raw_present & ~valid, plan.written, formula_like)
    return _Parsed(missing, None, values, raw_present, valid, number)


def _textual(agg: Aggregates, plan: Plan, variable: Variable | None, column: pl.Expr) -> _Parsed:
    """Text, dates, year-months and booleans. A type's test of validity is a prepared column."""
    kind = variable.type if variable else None
    for code in plan.codes:
        plan.keys[f"code:{code}"] = agg.add((column == code).sum())
    raw_present = column.is_not_null()
    if plan.codes:
        raw_present = raw_present & ~column.is_in(list(plan.codes))
    present = agg.derive(raw_present)
    test = _valid(column, kind)
    if test is None:
        if variable is None or not variable.categories:
            plan.keys["formula"] = agg.add(formula_like(column.filter(present)).sum())
            plan.masks["formula"] = _where(raw_present, column, formula_like)
        return _Parsed(~present, present, None, raw_present, None)
    valid = agg.derive(test, stage=0, name=f"{INTERNAL}valid:{plan.name}")
    plan.prepared.append(test.alias(f"{INTERNAL}valid:{plan.name}"))
    ok = present & valid
    plan.keys["valid"] = agg.add(ok.sum())
    if kind in (FieldType.DATE, FieldType.YEARMONTH):
        dated = pl.when(ok).then(column)
        plan.keys["earliest"] = agg.add(dated.min())
        plan.keys["latest"] = agg.add(dated.max())
    if kind is FieldType.BOOLEAN:
        plan.category_codes = ("true", "false")
        true = column.is_in(TRUE_VALUES)
        plan.keys["count:true"] = agg.add((ok & true).sum())
        plan.keys["count:false"] = agg.add((ok & ~true).sum())
    plan.masks["type"] = raw_present & ~valid
    plan.masks["formula"] = _where(raw_present & ~valid, column, formula_like)
    return _Parsed(~present, present, ok, raw_present, valid)


def _is_code(column: pl.Expr, codes: tuple[str, ...], number: pl.Expr, kind: FieldType) -> pl.Expr:
    """Whether a cell is a missing-value code: as a number where all codes are numbers (so
    -99.0 is the code -99; Polars takes NaN as equal to NaN), else as text."""
    if not all(_is_number(c) for c in codes):
        return column.is_in(list(codes))
    values = [_as_number(c, kind) for c in codes]
    if all(isinstance(v, int) for v in values):
        return number.is_in(pl.Series(values, dtype=pl.Int64).implode()).fill_null(False)
    floats = pl.Series([float(v) for v in values], dtype=pl.Float64)
    return number.cast(pl.Float64).is_in(floats.implode()).fill_null(False)


def _valid(column: pl.Expr, kind: FieldType | None) -> pl.Expr | None:
    if kind is FieldType.DATE:
        parsed = column.str.to_date("%Y-%m-%d", strict=False, cache=False)
        return parsed.is_not_null() & (column.str.len_bytes() == 10)
    if kind is FieldType.YEARMONTH:
        return column.str.contains(YEARMONTH)
    if kind is FieldType.BOOLEAN:
        return column.is_in([*TRUE_VALUES, *FALSE_VALUES])
    return None


def formula_like(values: pl.Expr) -> pl.Expr:
    """Text a spreadsheet would run as a formula (numbers with a sign are numbers); never
    null. The second test reads only the cells the first matched."""
    starting = pl.when(values.str.contains(FORMULA_START)).then(values)
    return (~starting.str.contains(PLAIN_NUMBER)).fill_null(False)


def _where(rows: pl.Expr, column: pl.Expr, test: Callable[[pl.Expr], pl.Expr]) -> pl.Expr:
    """``rows & test(column)``, the (costly) test reading only the cells of ``rows``: Polars
    skips the null cells of ``when(rows).then(column)``."""
    return test(pl.when(rows).then(column)).fill_null(False)


def _categories(
    agg: Aggregates,
    plan: Plan,
    variable: Variable,
    column: pl.Expr,
    parsed: _Parsed,
    *,
    owned: bool,
) -> pl.Expr:
    """Count the categories (one value count) and the valid cells inside them; return the raw
    mask of cells outside them, for the personal-data screen."""
    codes = list(variable.categories)
    plan.category_codes = tuple(codes[:MAX_CATEGORY_COUNTS])
    numeric = [_as_number(c, variable.type) for c in codes if _is_number(c)]
    number, values = parsed.number, parsed.values
    if number is not None and values is not None:
        inside_raw = number.is_in(numeric)
        plan.keys["inside"] = agg.add(values.is_in(numeric).sum())
        counted = values
    else:
        inside_raw = column.is_in(codes)
        if values is not None:
            plan.keys["inside"] = agg.add((values & inside_raw).sum())
        counted = column
    if number is None and len(codes) <= FEW_CATEGORIES:  # comparisons beat a value count
        for code in codes:
            plan.keys[f"count:{code}"] = agg.add((column == code).sum())
        plan.counted_inside = "inside" not in plan.keys
    else:
        if "inside" not in plan.keys:
            plan.keys["inside"] = agg.add(inside_raw.sum())
        values_counted = counted.value_counts(sort=True, name=COUNT).head(200).implode()
        plan.keys["values"] = agg.add(values_counted)
    raw_ok = parsed.raw_present
    if parsed.raw_valid is not None:
        raw_ok = raw_ok & parsed.raw_valid
    outside = raw_ok & ~inside_raw.fill_null(False)
    if not owned:
        plan.masks["category"] = outside
    if plan.text:  # text of a categorical variable: only cells outside can be formulas
        plan.masks["formula"] = _where(outside, column, formula_like)
    return outside


def _as_number(code: str, kind: FieldType | None) -> float | int:
    value = float(code)
    return int(value) if kind is FieldType.INTEGER and value.is_integer() else value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _pattern(agg: Aggregates, plan: Plan, pattern: str, column: pl.Expr, parsed: _Parsed) -> None:
    anchored = f"^(?:{pattern})$"
    try:
        pl.Series("probe", ["x"], dtype=pl.String).str.contains(anchored)
    except Exception as exc:
        plan.pattern_invalid = str(exc).splitlines()[0][:120]
        return

    def unmatched(values: pl.Expr) -> pl.Expr:
        return ~values.str.contains(anchored)

    present = parsed.present if parsed.present is not None else parsed.raw_present
    plan.keys["pattern"] = agg.add(unmatched(column.filter(present)).sum())
    plan.masks["pattern"] = _where(parsed.raw_present, column, unmatched)


def _screen(plan: Plan, parsed: _Parsed, outside: pl.Expr | None) -> pl.Expr:
    """The cells the personal-data screen looks at: text, values outside the categories,
    typed values that do not parse, and numbers of nine or more digits."""
    present, valid, number = parsed.raw_present, parsed.raw_valid, parsed.number
    if plan.variable is None:
        return present
    if number is not None and valid is not None:
        big = (number.cast(pl.Float64).abs() >= BIG_NUMBER).fill_null(False)
        return present & (~valid | big)
    if valid is not None:
        return present & ~valid
    if outside is not None:
        return outside
    return present
