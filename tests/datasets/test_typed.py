"""Typing the text of an accepted import: each dictionary type, missing-value codes, sorting and
the key checks. Pure Arrow; no database."""

from __future__ import annotations

import datetime

import pyarrow as pa
import pytest

from cohortvault.catalog.schema import Dictionary, FieldType, Variable
from cohortvault.datasets.keys import sorted_by_key
from cohortvault.datasets.typed import typed_slices, typed_table
from cohortvault.errors import Invalid
from tests.datasets.conftest import ROWS, dictionary, text_table


def typed_rows(rows: list[dict[str, str | None]], given: Dictionary | None = None) -> pa.Table:
    keyed = [{"subject_id": f"S{i:03d}", "timepoint": "t1", **row} for i, row in enumerate(rows)]
    return typed_table(text_table(keyed), given or dictionary())


def column(rows: list[dict[str, str | None]], name: str) -> list[object]:
    return list(typed_rows(rows)[name].to_pylist())


def test_every_type_and_the_missing_codes() -> None:
    typed = sorted_by_key(typed_table(text_table(ROWS), dictionary()))
    assert typed.schema == pa.schema(
        [
            ("subject_id", pa.string()),
            ("timepoint", pa.string()),
            ("site", pa.string()),
            ("mmse", pa.int64()),
            ("bmi", pa.float64()),
            ("smoker", pa.bool_()),
            ("visit_date", pa.date32()),
            ("birth_month", pa.string()),
            ("comment", pa.string()),
        ]
    )
    assert typed.to_pylist() == [
        {
            "subject_id": "OSL-0001",
            "timepoint": "wave1",
            "site": "oslo",
            "mmse": None,  # "NA": a code, not an integer
            "bmi": -88.0,  # a code that is a number: kept, declared missing in the schema
            "smoker": True,
            "visit_date": None,
            "birth_month": "1948-11",
            "comment": "-5",
        },
        {
            "subject_id": "OSL-0001",
            "timepoint": "wave2",
            "site": "oslo",
            "mmse": -99,
            "bmi": None,
            "smoker": True,
            "visit_date": datetime.date(2023, 1, 31),
            "birth_month": "1948-11",
            "comment": None,
        },
        {
            "subject_id": "OSL-0002",
            "timepoint": "wave1",
            "site": "oslo",
            "mmse": 27,
            "bmi": 23.5,
            "smoker": False,
            "visit_date": datetime.date(2021, 3, 4),
            "birth_month": "1950-03",
            "comment": "=HYPERLINK(1)",
        },
    ]


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("mmse", "+12", 12),
        ("mmse", " 7 ", 7),
        ("mmse", "-99", -99),
        ("mmse", "NA", None),
        ("mmse", "", None),
        ("bmi", "1e2", 100.0),
        ("bmi", ".5", 0.5),
        ("bmi", " 2.5", 2.5),
        ("bmi", "-88", -88.0),
        ("smoker", "TRUE", True),
        ("smoker", "no", False),
        ("smoker", " 0 ", False),
        ("smoker", "NA", None),
        ("visit_date", " 2020-02-29", datetime.date(2020, 2, 29)),
        ("birth_month", "1999-12", "1999-12"),
        ("birth_month", "NA", None),
        ("comment", "NA", "NA"),  # every code is a valid string: kept as written
        ("comment", "", None),
        ("comment", "  spaced  ", "  spaced  "),
    ],
)
def test_one_value(name: str, text: str, value: object) -> None:
    assert column([{name: text}], name) == [value]


def test_variable_codes_apply_to_their_variable_only() -> None:
    # -88 is bmi's code; in mmse it is simply a (negative) integer, -99 stays too
    assert column([{"mmse": "-88"}, {"mmse": "-99"}], "mmse") == [-88, -99]


def test_columns_the_dictionary_lacks_stay_text() -> None:
    assert column([{"hobby": "0042"}, {"hobby": "NA"}, {"hobby": ""}], "hobby") == [
        "0042",
        "NA",
        None,
    ]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("mmse", "12.0"),
        ("mmse", "0x10"),
        ("mmse", "1e3"),
        ("mmse", "99999999999999999999999"),
        ("bmi", "23,5"),
        ("smoker", "maybe"),
        ("visit_date", "2021-02-30"),
        ("visit_date", "2021-2-3"),
        ("visit_date", "03.04.2021"),
        ("birth_month", "1950-13"),
        ("birth_month", "1950-03-01"),
    ],
)
def test_values_of_another_type_refuse_the_table(name: str, text: str) -> None:
    with pytest.raises(Invalid) as refused:
        typed_rows([{name: "NA"}, {name: text}])
    [detail] = refused.value.details
    assert detail["column"] == name and detail["count"] == 1 and detail["row"] == 2
    assert detail["example"] == text


def test_every_bad_column_is_reported_at_once() -> None:
    with pytest.raises(Invalid) as refused:
        typed_rows([{"mmse": "x", "bmi": "y"}, {"mmse": "z", "bmi": "1"}])
    assert [(d["column"], d["count"]) for d in refused.value.details] == [("mmse", 2), ("bmi", 1)]


def test_columns_already_typed_are_kept() -> None:
    typed = typed_rows([{"mmse": "3", "visit_date": "2020-01-01", "smoker": "no"}])
    again = typed_table(typed, dictionary())
    assert again.equals(typed)


def test_key_columns_must_be_there_complete_and_unique() -> None:
    with pytest.raises(Invalid, match="timepoint"):
        typed_table(text_table([{"subject_id": "A"}]), dictionary())
    with pytest.raises(Invalid, match="no timepoint"):
        sorted_by_key(text_table([{"subject_id": "A", "timepoint": None}]))
    twice = text_table([{"subject_id": "A", "timepoint": "t1"}] * 2)
    with pytest.raises(Invalid, match="1 row"):
        sorted_by_key(twice)
    unsorted_twice = text_table(
        [
            {"subject_id": "B", "timepoint": "t1"},
            {"subject_id": "A", "timepoint": "t1"},
            {"subject_id": "B", "timepoint": "t1"},
        ]
    )
    with pytest.raises(Invalid, match="repeat"):
        sorted_by_key(unsorted_twice)
    named_twice = pa.Table.from_arrays(
        [pa.array(["A"]), pa.array(["t"]), pa.array(["x"]), pa.array(["y"])],
        names=["subject_id", "timepoint", "c", "c"],
    )
    with pytest.raises(Invalid, match="named twice: c"):
        typed_table(named_twice, dictionary())


def test_rows_are_sorted_by_subject_then_timepoint() -> None:
    table = text_table(
        [
            {"subject_id": "B", "timepoint": "t1", "x": "1"},
            {"subject_id": "A", "timepoint": "t2", "x": "2"},
            {"subject_id": "A", "timepoint": "t1", "x": "3"},
        ]
    )
    ordered = sorted_by_key(table)
    assert ordered["x"].to_pylist() == ["3", "2", "1"]
    assert sorted_by_key(ordered).equals(ordered)


def test_wide_strings_and_views_are_read_as_text() -> None:
    table = pa.table(
        {
            "subject_id": pa.array(["A"], pa.large_string()),
            "timepoint": pa.array(["t1"], pa.string_view()),
            "mmse": pa.array(["4"], pa.large_string()),
            "empty": pa.nulls(1),
        }
    )
    typed = typed_table(table, dictionary())
    assert typed.schema.types == [pa.string(), pa.string(), pa.int64(), pa.string()]


def test_a_dictionary_level_code_that_is_valid_stays() -> None:
    own = Dictionary(
        version=1,
        variables=(
            *(Variable(n, FieldType.STRING) for n in ("subject_id", "timepoint", "site")),
            Variable("score", FieldType.INTEGER),
            Variable("flag", FieldType.BOOLEAN),
        ),
        missing_values=("", "-1", "0"),
    )
    typed = typed_rows([{"score": "-1", "flag": "0"}, {"score": "0", "flag": "-1"}], own)
    assert typed["score"].to_pylist() == [-1, 0]
    assert typed["flag"].to_pylist() == [False, None]


def test_slices_come_typed_in_key_order() -> None:
    rows = [{"subject_id": f"S{9 - i}", "timepoint": "t1", "mmse": str(i)} for i in range(10)]
    slices = list(typed_slices(text_table(rows), dictionary(), rows=3))
    assert [s.num_rows for s in slices] == [3, 3, 3, 1]
    joined = pa.concat_tables(slices)
    assert joined["subject_id"].to_pylist() == [f"S{i}" for i in range(10)]
    assert joined["mmse"].to_pylist() == list(range(9, -1, -1))
    empty = text_table([{"subject_id": "S", "timepoint": "t", "mmse": "1"}]).slice(0, 0)
    [only] = list(typed_slices(empty, dictionary()))
    assert only.num_rows == 0 and only.schema.field("mmse").type == pa.int64()


def test_problems_in_several_slices_add_up() -> None:
    rows = [
        {"subject_id": f"S{i}", "timepoint": "t1", "mmse": "x" if i in (2, 8) else "1"}
        for i in range(10)
    ]
    with pytest.raises(Invalid) as refused:
        list(typed_slices(text_table(rows), dictionary(), rows=3))
    [detail] = refused.value.details
    assert (detail["column"], detail["count"], detail["row"]) == ("mmse", 2, 3)
    unsorted = list(reversed(rows))  # S9 first: the bad values are given at rows 2 and 8
    with pytest.raises(Invalid) as refused:
        list(typed_slices(text_table(unsorted), dictionary(), rows=3))
    [detail] = refused.value.details
    assert (detail["count"], detail["row"]) == (2, 2)
