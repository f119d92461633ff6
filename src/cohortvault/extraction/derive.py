"""Each transform as one Polars expression over the extracted rows (vectorised; z-scores are
window aggregates, ``over`` the groups, which keep the rows in their order), and the column it
delivers: type, label, unit, categories, missing values, and a description naming its source.
"""

from __future__ import annotations

import dataclasses

import polars as pl

from cohortvault.catalog.schema import FieldType, Variable
from cohortvault.extraction.columns import Column, present, typed_code
from cohortvault.extraction.transforms import (
    GROUP_COLUMNS,
    AgeAtVisit,
    ConvertUnit,
    Dichotomise,
    Recode,
    Transform,
    ZScore,
    number,
)

#: The missing-value code of a derived column: only the empty cell.
DERIVED_MISSING = ("",)


def derive(transform: Transform, columns: dict[str, Column]) -> tuple[pl.Expr, Column]:
    """The expression computing ``transform`` (named as its target) and the column it
    delivers."""
    match transform:
        case ZScore():
            return _zscore(transform, columns[transform.variable])
        case Dichotomise():
            return _dichotomise(transform, columns[transform.variable])
        case Recode():
            return _recode(transform, columns[transform.variable])
        case ConvertUnit():
            return _convert(transform, columns[transform.variable])
        case AgeAtVisit():
            birth = columns[transform.birth_month_variable]
            visit = columns[transform.visit_date_variable]
            return _age(transform, birth, visit)
    raise TypeError(f"not a transform: {transform!r}")


def _made(
    transform: Transform,
    source: Column,
    field: Variable,
    *,
    subject_level: bool | None = None,
    also: tuple[Column, ...] = (),
) -> Column:
    inputs = (source, *also)
    derived_from = tuple(dict.fromkeys(n for c in inputs for n in (c.derived_from or (c.name,))))
    return Column(
        field=field,
        transforms=(
            *source.transforms,
            *(t for c in also for t in c.transforms),
            transform.describe(),
        ),
        derived_from=derived_from,
        subject_level=(
            all(c.subject_level for c in inputs) if subject_level is None else subject_level
        ),
    )


def _number_field(
    source: Variable, name: str, *, label: str, description: str, unit: str
) -> Variable:
    return Variable(
        name=name,
        type=FieldType.NUMBER,
        label=label,
        description=description,
        unit=unit,
        domain=source.domain,
        sensitivity=source.sensitivity,
        missing_values=DERIVED_MISSING,
    )


def _zscore(transform: ZScore, source: Column) -> tuple[pl.Expr, Column]:
    value = present(source).cast(pl.Float64)
    groups = list(GROUP_COLUMNS[transform.within])

    def per_group(aggregate: pl.Expr) -> pl.Expr:
        return aggregate.over(groups) if groups else aggregate

    # a group whose values are all equal has no spread (its SD, in floating point, may not
    # come out as exactly 0)
    spread = per_group(value.max()) > per_group(value.min())
    sd = per_group(value.std())
    expression = pl.when(spread & (sd > 0)).then((value - per_group(value.mean())) / sd)
    grouping = transform.grouping
    field = _number_field(
        source.field,
        transform.target,
        label=f"{source.field.label or source.name} (z-score within {grouping})",
        description=(
            f"z-score of {source.name}: (value - mean) / SD, with the mean and the sample SD "
            f"(n - 1) of {grouping}. Missing-value codes, NaN and infinities are left out; "
            "empty where the value is missing or its group has fewer than two values or no "
            "spread."
        ),
        unit="SD",
    )
    return expression, _made(transform, source, field, subject_level=False)


def _dichotomise(transform: Dichotomise, source: Column) -> tuple[pl.Expr, Column]:
    value = present(source)
    cut = float(transform.threshold)
    expression = value >= cut if transform.at_or_above else value > cut
    sign = "≥" if transform.at_or_above else ">"
    threshold = number(transform.threshold)
    field = Variable(
        name=transform.target,
        type=FieldType.BOOLEAN,
        label=f"{source.field.label or source.name} {sign} {threshold}",
        description=(
            f"true where {source.name} {sign} {threshold}"
            f"{' ' + source.field.unit if source.field.unit else ''}, false where it is "
            "lower; empty where it is missing."
        ),
        domain=source.field.domain,
        sensitivity=source.field.sensitivity,
        missing_values=DERIVED_MISSING,
    )
    return expression, _made(transform, source, field)


def _recode(transform: Recode, source: Column) -> tuple[pl.Expr, Column]:
    kind = source.type
    old = [_typed(code, kind) for code in transform.mapping]
    new = [_typed(code, kind) for code in transform.mapping.values()]
    expression = pl.col(source.name).replace(old, new)
    categories = _recoded_categories(transform, source.field.categories)
    label = source.field.label or source.name
    field = dataclasses.replace(
        source.field,
        name=transform.target,
        label=source.field.label if transform.output is None else f"{label} (recoded)",
        description=f"{source.name} recoded: "
        + ", ".join(f"{old} → {new}" for old, new in transform.mapping.items())
        + "; other codes as in the source.",
        categories=categories,
        minimum=None,
        maximum=None,
        pattern="",
        identifier=False,
    )
    return expression, _made(transform, source, field)


def _typed(code: str, kind: FieldType) -> object:
    return code if kind is FieldType.STRING else typed_code(code, kind)


def _recoded_categories(transform: Recode, categories: dict[str, str]) -> dict[str, str]:
    if not categories and not transform.labels:
        return {}
    recoded: dict[str, str] = {}
    for code, label in categories.items():
        if code not in transform.mapping:
            recoded[code] = transform.labels.get(code, label)
    for old, new in transform.mapping.items():
        if new in transform.labels:
            recoded[new] = transform.labels[new]
        elif new in categories and new not in transform.mapping:
            recoded[new] = categories[new]
        else:
            earlier = recoded.get(new)
            label = categories.get(old, old)
            recoded[new] = label if earlier is None else f"{earlier} / {label}"
    return recoded


def _convert(transform: ConvertUnit, source: Column) -> tuple[pl.Expr, Column]:
    value = present(source).cast(pl.Float64) * float(transform.factor)
    expression = value + float(transform.offset) if transform.offset else value
    old = f" from {source.field.unit}" if source.field.unit else ""
    field = _number_field(
        source.field,
        transform.target,
        label=source.field.label or source.name,
        description=(
            f"{source.name} converted{old} to {transform.unit}: value × {number(transform.factor)}"
            f"{f' + {number(transform.offset)}' if transform.offset else ''}. Missing-value codes "
            "are empty."
        ),
        unit=transform.unit,
    )
    return expression, _made(transform, source, field)


def _age(transform: AgeAtVisit, birth: Column, visit: Column) -> tuple[pl.Expr, Column]:
    born = (present(birth) + "-15").str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    seen = present(visit)
    year, month = born.dt.year(), born.dt.month()
    # whole years: anniversaries of the 15th of the birth month reached by the visit date
    before = (seen.dt.month() < month) | ((seen.dt.month() == month) & (seen.dt.day() < 15))
    years = (seen.dt.year() - year - before.cast(pl.Int32)).cast(pl.Int32)
    last = pl.date(year + years, month, 15)
    following = pl.date(year + years + 1, month, 15)
    fraction = (seen - last).dt.total_days() / (following - last).dt.total_days()
    age = (years.cast(pl.Float64) + fraction).round(1, mode="half_away_from_zero")
    expression = pl.when(seen >= born).then(age)
    field = Variable(
        name=transform.target,
        type=FieldType.NUMBER,
        label="Age at visit",
        description=(
            f"Age in years at {visit.name}, to one decimal, from {birth.name} taken as the "
            "15th of that month: whole years plus the elapsed fraction (in days) of the "
            "current year of age. Empty where either is missing or the visit precedes birth."
        ),
        unit="years",
        domain=visit.field.domain or birth.field.domain,
        sensitivity=birth.field.sensitivity,
        missing_values=DERIVED_MISSING,
    )
    return expression, _made(transform, birth, field, also=(visit,))
