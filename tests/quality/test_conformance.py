"""Conformance to the dictionary: each check with a planted problem, and clean counterparts that
must not be flagged."""

from __future__ import annotations

import pytest

from tests.quality.helpers import T, Variable, checks, findings, report, rows

AGE = Variable("age", T.INTEGER, minimum=0, maximum=120, unit="years", missing_values=("-88",))
WEIGHT = Variable("weight", T.NUMBER, minimum=20, maximum=300)
VISIT = Variable("visit_date", T.DATE)
BORN = Variable("birth_month", T.YEARMONTH)
SMOKER = Variable("smoker", T.BOOLEAN)
SEX = Variable("sex", T.STRING, categories={"F": "female", "M": "male"})
GROUP = Variable("group", T.INTEGER, categories={"1": "control", "2": "case"})
CODE = Variable("code", T.STRING, pattern="[A-Z][0-9]{2}")
MMSE = Variable("mmse", T.INTEGER, minimum=0, maximum=30, required=True)
ALL = (AGE, WEIGHT, VISIT, BORN, SMOKER, SEX, GROUP, CODE, MMSE)
HEADER = "age,weight,visit_date,birth_month,smoker,sex,group,code,mmse"
GOOD = [
    "50,70.5,2020-01-05,1970-03,true,F,1,A01,28",
    "0,20,2021-12-31,1950-12,FALSE,M,2,B99,0",
    "-99,-99,-99,-99,-99,-99,-99,-99,30",
    "-88,,,,,,,,15",
    "120,300,2019-02-28,2000-01,1,F,1,Z00,30",
]


def test_a_clean_table_has_no_findings() -> None:
    result = report(rows(HEADER, *GOOD), *ALL)
    assert result.findings == [] and result.ok


def bad(column: str, value: str) -> list[str]:
    """The lines of GOOD with ``value`` in ``column`` of the first line."""
    position = HEADER.split(",").index(column)
    first = GOOD[0].split(",")
    first[position] = '"' + value.replace('"', '""') + '"' if value else ""
    return [",".join(first), *GOOD[1:]]


@pytest.mark.parametrize(
    "column,value",
    [
        ("age", "abc"),
        ("age", "12.5"),
        ("age", "1e3"),
        ("age", " 50"),
        ("weight", "70,5"),
        ("weight", "NaN"),
        ("weight", "inf"),
        ("visit_date", "2020-02-30"),
        ("visit_date", "05.01.2020"),
        ("visit_date", "2020-1-5"),
        ("birth_month", "1970-13"),
        ("birth_month", "1970-3"),
        ("smoker", "yes"),
        ("group", "one"),
    ],
)
def test_type_errors(column: str, value: str) -> None:
    result = report(rows(HEADER, *bad(column, value)), *ALL)
    found = findings(result, "type", column)
    assert len(found) == 1 and found[0].rows == 1 and found[0].row == 2
    assert found[0].example == value and found[0].severity == "error"
    assert not result.ok


def test_a_decimal_comma_gets_a_hint() -> None:
    found = findings(report(rows(HEADER, *bad("weight", "70,5")), *ALL), "type", "weight")
    assert "decimal" in found[0].message


@pytest.mark.parametrize(
    "column,value",
    [("age", "121"), ("age", "-1"), ("weight", "19.99"), ("weight", "1e6"), ("mmse", "31")],
)
def test_range(column: str, value: str) -> None:
    found = findings(report(rows(HEADER, *bad(column, value)), *ALL), "range", column)
    assert len(found) == 1 and found[0].example == value and found[0].row == 2


def test_missing_value_codes_are_counted_not_errors() -> None:
    result = report(rows(HEADER, *GOOD), *ALL)
    age = next(c for c in result.columns if c.name == "age")
    assert age.missing == {"": 0, "-99": 1, "-88": 1} and age.non_missing == 3
    assert age.minimum == 0 and age.maximum == 120 and age.mean == pytest.approx(170 / 3)


def test_numeric_codes_compare_as_numbers() -> None:
    result = report(rows("weight", "-99.0", "50"), WEIGHT)
    assert result.findings == []
    assert next(c for c in result.columns if c.name == "weight").missing == {"": 0, "-99": 1}
    whole = report(rows("age", "-99.0"), AGE)  # not a whole number, so not the code -99
    assert findings(whole, "type", "age")


def test_codes_are_text_when_not_all_are_numbers() -> None:
    score = Variable("score", T.NUMBER, missing_values=("NA",))
    result = report(rows("score", "NA", "-99", "-99.0", "5"), score)
    summary = next(c for c in result.columns if c.name == "score")
    assert summary.missing == {"": 0, "NA": 1, "-99": 1}
    assert summary.non_missing == 2 and (summary.minimum, summary.maximum) == (-99, 5)


def test_a_nan_code_is_a_code_of_nan_cells() -> None:
    score = Variable("score", T.NUMBER, missing_values=("NaN",))
    result = report(rows("score", "nan", "NaN", "-99", "2.5"), score)
    assert result.findings == []
    summary = next(c for c in result.columns if c.name == "score")
    assert summary.missing == {"": 0, "NaN": 2, "-99": 1} and summary.mean == 2.5


def test_a_code_of_another_variable_is_not_missing() -> None:
    result = report(rows("weight", "-88"), WEIGHT)  # -88 is age's code, not weight's
    assert findings(result, "range", "weight")


@pytest.mark.parametrize("column,value", [("sex", "X"), ("sex", "f"), ("group", "3")])
def test_categories(column: str, value: str) -> None:
    found = findings(report(rows(HEADER, *bad(column, value)), *ALL), "category", column)
    assert len(found) == 1 and found[0].example == value


@pytest.mark.parametrize("count", [2, 8, 9, 70])
def test_category_counts_however_many_categories(count: int) -> None:
    grade = Variable("grade", T.STRING, categories={f"g{k}": f"grade {k}" for k in range(count)})
    result = report(rows("grade", "g0", "g1", "g1", "x", "", "-99"), grade)
    summary = next(c for c in result.columns if c.name == "grade")
    assert [(c.code, c.count) for c in summary.categories[:3]] == [("g0", 1), ("g1", 2), ("g2", 0)][
        :count
    ]
    assert len(summary.categories) == min(count, 60)
    assert summary.non_missing == 4 and summary.other_values == 1
    found = findings(result, "category", "grade")
    assert found[0].rows == 1 and found[0].row == 5 and found[0].example == "x"


def test_integer_categories_compare_as_numbers() -> None:
    assert not findings(report(rows("group", "01", "2"), GROUP), "category")


def test_pattern() -> None:
    found = findings(report(rows(HEADER, *bad("code", "a01")), *ALL), "pattern", "code")
    assert len(found) == 1 and "[A-Z][0-9]{2}" in found[0].message


def test_an_invalid_pattern_is_a_dictionary_warning() -> None:
    result = report(rows("code", "x"), Variable("code", T.STRING, pattern="[unclosed"))
    found = findings(result, "dictionary", "code")
    assert found and found[0].severity == "warning"


def test_required_values() -> None:
    found = findings(report(rows(HEADER, *bad("mmse", "")), *ALL), "required", "mmse")
    assert len(found) == 1 and found[0].row == 2
    code = report(rows(HEADER, *bad("mmse", "-99")), *ALL)
    assert not findings(code, "required")  # a missing-value code says why: allowed


def test_unknown_and_missing_columns() -> None:
    result = report(rows("Age,hobby", "50,chess"), *ALL)
    unknown = findings(result, "unknown-column")
    assert {f.column for f in unknown} == {"Age", "hobby"}
    assert "Did you mean 'age'?" in next(f.message for f in unknown if f.column == "Age")
    required = findings(result, "missing-column", "mmse")
    assert required and required[0].severity == "error"
    optional = [f for f in findings(result, "missing-column") if f.column is None]
    assert optional and optional[0].severity == "warning" and "weight" in optional[0].message


def test_variables_not_expected_from_the_site_may_be_absent() -> None:
    elsewhere = Variable("mri_volume", T.NUMBER, required=True, sites=("berlin",))
    assert not findings(report(rows("age", "50"), AGE, elsewhere), "missing-column", "mri_volume")


@pytest.mark.parametrize("value", ['=HYPERLINK(""x"")', "+47 1", "@SUM(A1)", "-A", "\ttab"])
def test_formula_like_text(value: str) -> None:
    result = report(rows("note", f'"{value}"'), Variable("note", T.STRING))
    found = findings(result, "formula", "note")
    assert len(found) == 1 and found[0].severity == "warning" and found[0].row == 2


@pytest.mark.parametrize("value", ["-5", "+3.5", "-0.25", "1e-3", "a=b", "x+y"])
def test_plain_numbers_and_inner_signs_are_not_formulas(value: str) -> None:
    assert not findings(report(rows("note", value), Variable("note", T.STRING)), "formula")


def test_negative_numbers_in_numeric_columns_are_not_formulas() -> None:
    result = report(rows("z", "-1.5", "-2", "=1+1"), Variable("z", T.NUMBER))
    assert [f.check for f in result.findings] == ["type", "formula"]
    assert findings(result, "formula", "z")[0].example == "=1+1"


def test_formula_like_values_inside_categories_are_allowed() -> None:
    assert not findings(
        report(rows("sign", "+", "-"), Variable("sign", T.STRING, categories={"+": "p", "-": "n"})),
        "formula",
    )


def test_examples_that_look_like_personal_data_are_masked() -> None:
    result = report(rows("age", "kari@example.no"), AGE)
    found = findings(result, "type", "age")
    assert found[0].example == "k•••@•••.no"


def test_findings_are_ordered_errors_first() -> None:
    result = report(rows("age,note", '150,"=1"'), AGE, Variable("note", T.STRING))
    severities = [f.severity for f in result.findings]
    assert severities == sorted(severities, key=lambda s: s != "error")
    assert checks(result) >= {"range", "formula"}


def test_column_names_like_the_engines_own_do_not_collide() -> None:
    names = ["m0", "screen0", "__derived_0", "__timepoint_index", "__unnamed_1", "_0", "n0"]
    header = ",".join(names)
    result = report(rows(header, ",".join(["=1"] * len(names))))
    unknown = {f.column for f in findings(result, "unknown-column")}
    assert unknown == set(names)
    assert {f.column for f in findings(result, "formula")} == set(names)


@pytest.mark.parametrize("name", ["n", "row", "hash", "outside", "first", "example", "known"])
@pytest.mark.parametrize("kind", [None, T.STRING, T.INTEGER, T.NUMBER, T.DATE, T.BOOLEAN])
def test_a_column_named_like_a_field_of_the_engine_is_checked(name: str, kind: T | None) -> None:
    variables = [] if kind is None else [Variable(name, kind)]
    result = report(rows(name, "=1", "Kari Nordmann", "", "-99"), *variables)
    assert findings(result, "formula", name) or findings(result, "type", name)
    assert bool(findings(result, "unknown-column", name)) == (kind is None)
