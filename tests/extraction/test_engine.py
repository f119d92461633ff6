"""Running an extraction: rows, layouts, notes and the Table Schema of the result."""

from __future__ import annotations

import pyarrow as pa
import pytest

from cohortvault.catalog.schema import Dictionary
from cohortvault.errors import Invalid
from cohortvault.extraction import Extraction, Source, ZScore, extract
from tests.extraction.conftest import ALL, make_spec

KEYS = [
    ("berlin", "BER-0001", "baseline"),
    ("berlin", "BER-0002", "baseline"),
    ("berlin", "BER-0002", "fu1"),
    ("oslo", "OSL-0001", "baseline"),
    ("oslo", "OSL-0001", "fu1"),
    ("oslo", "OSL-0002", "baseline"),
    ("oslo", "OSL-0002", "fu1"),
]


def keys(table: pa.Table) -> list[tuple[str, ...]]:
    return list(
        zip(*(table[k].to_pylist() for k in ("site", "subject_id", "timepoint")), strict=True)
    )


def test_long_layout_rows_sorted_with_typed_columns(
    dictionary: Dictionary, tables: dict[tuple[str, str], pa.Table]
) -> None:
    result = extract(make_spec(), tables, dictionary)
    table = result.table
    assert table.column_names == ["site", "subject_id", "timepoint", *ALL]
    assert keys(table) == KEYS
    assert table.schema.field("mmse").type == pa.int64()
    assert table.schema.field("visit_date").type == pa.date32()
    assert table.schema.field("lives_alone").type == pa.bool_()
    assert table.schema.field("birth_month").type == pa.string()
    # subject-level demographics on every visit of the subject; BER-0002 has none
    assert table["sex"].to_pylist() == ["F", None, None, "F", "F", "M", "M"]
    assert table["birth_month"].to_pylist()[3:] == ["1950-02"] * 2 + ["1960-12"] * 2
    # missing-value codes are delivered as stored (the schema declares them)
    assert table["mmse"].to_pylist() == [20, 30, None, 28, 26, -99, 24]
    assert result.key == ("site", "subject_id", "timepoint")


def test_a_variable_a_site_lacks_is_empty_and_noted(
    dictionary: Dictionary, tables: dict[tuple[str, str], pa.Table]
) -> None:
    result = extract(make_spec(variables=("mmse", "weight_lb")), tables, dictionary)
    assert result.table["weight_lb"].to_pylist()[:3] == [None, None, None]
    assert [(n.code, n.site, n.subject) for n in result.notes] == [
        ("missing-variable", "berlin", "weight_lb")
    ]
    assert "berlin" in result.notes[0].message and "weight_lb" in result.notes[0].message


def test_timepoints_select_rows_and_absent_ones_are_noted(
    dictionary: Dictionary, tables: dict[tuple[str, str], pa.Table]
) -> None:
    spec = make_spec(variables=("mmse",), timepoints=("fu1", "fu2"))
    result = extract(spec, tables, dictionary)
    assert keys(result.table) == [k for k in KEYS if k[2] == "fu1"]
    assert sorted((n.code, n.site, n.subject) for n in result.notes) == [
        ("missing-timepoint", "berlin", "fu2"),
        ("missing-timepoint", "oslo", "fu2"),
    ]


def test_wide_layout_one_row_per_subject(
    dictionary: Dictionary, tables: dict[tuple[str, str], pa.Table]
) -> None:
    spec = make_spec(
        variables=("sex", "mmse", "diagnosis"),
        transforms=(ZScore("mmse", "site", "mmse_z"),),
        layout="wide",
    )
    result = extract(spec, tables, dictionary)
    table = result.table
    assert table.column_names == [
        "site", "subject_id", "sex", "mmse__baseline", "mmse__fu1", "diagnosis__baseline",
        "diagnosis__fu1", "mmse_z__baseline", "mmse_z__fu1",
    ]  # fmt: skip
    assert table["subject_id"].to_pylist() == ["BER-0001", "BER-0002", "OSL-0001", "OSL-0002"]
    assert table["sex"].to_pylist() == ["F", None, "F", "M"]  # one value per subject: one column
    assert table["mmse__baseline"].to_pylist() == [20, 30, 28, -99]
    assert table["mmse__fu1"].to_pylist() == [None, None, 26, 24]
    assert table["mmse_z__fu1"].to_pylist() == [None, None, 0.0, -1.0]
    assert result.key == ("site", "subject_id")
    fields = {f["name"]: f for f in result.schema["fields"]}
    assert list(fields) == table.column_names
    assert fields["mmse__fu1"]["title"] == "Mini-Mental State Examination at fu1"
    assert fields["mmse__fu1"]["cohortvault"]["timepoint"] == "fu1"
    assert fields["mmse__fu1"]["cohortvault"]["variable"] == "mmse"
    assert fields["sex"]["cohortvault"]["level"] == "subject"
    assert result.schema["primaryKey"] == ["site", "subject_id"]


def test_wide_layout_keeps_the_timepoints_asked_for(
    dictionary: Dictionary, tables: dict[tuple[str, str], pa.Table]
) -> None:
    spec = make_spec(variables=("mmse",), layout="wide", timepoints=("fu2", "baseline"))
    result = extract(spec, tables, dictionary)
    assert result.table.column_names == ["site", "subject_id", "mmse__fu2", "mmse__baseline"]
    assert result.table["subject_id"].to_pylist() == [
        "BER-0001",
        "BER-0002",
        "OSL-0001",
        "OSL-0002",
    ]


def test_schema_describes_exactly_the_delivered_columns(
    dictionary: Dictionary, tables: dict[tuple[str, str], pa.Table]
) -> None:
    spec = make_spec(transforms=(ZScore("mmse", "site_timepoint", "mmse_z"),))
    result = extract(spec, tables, dictionary)
    fields = {f["name"]: f for f in result.schema["fields"]}
    assert list(fields) == result.table.column_names
    assert fields["site"]["constraints"]["required"] is True
    assert "required" not in fields["mmse"].get("constraints", {})
    assert fields["mmse"]["title"] == "Mini-Mental State Examination"
    assert fields["mmse"]["cohortvault"]["unit"] == "points"
    assert fields["mmse"]["missingValues"] == ["", "-99"]
    assert fields["diagnosis"]["cohortvault"]["categories"]["AD"] == "Alzheimer's disease"
    z = fields["mmse_z"]
    assert z["cohortvault"]["unit"] == "SD"
    assert "mmse" in z["description"] and "each site and timepoint" in z["description"]
    assert result.schema["primaryKey"] == ["site", "subject_id", "timepoint"]
    assert result.schema["cohortvault"]["dictionaryVersion"] == 7


def test_two_studies_of_a_site_are_matched_on_subject_and_timepoint(
    dictionary: Dictionary,
) -> None:
    first = pa.table(
        {"subject_id": ["A", "A", "B"], "timepoint": ["t1", "t2", "t1"], "mmse": [1, 2, 3],
         "smoking": [0, 0, 1]}
    )  # fmt: skip
    second = pa.table(
        {"subject_id": ["C", "A"], "timepoint": ["t1", "t2"], "weight_lb": [100.0, 150.0],
         "smoking": [2, 1]}
    )  # fmt: skip
    spec = Extraction(
        variables=("mmse", "weight_lb", "smoking"),
        sources=(Source("oslo", "one", 1, "x"), Source("oslo", "two", 1, "y")),
    )
    result = extract(spec, {("oslo", "one"): first, ("oslo", "two"): second}, dictionary)
    rows = result.table.to_pylist()
    assert [(r["subject_id"], r["timepoint"]) for r in rows] == [
        ("A", "t1"), ("A", "t2"), ("B", "t1"), ("C", "t1")
    ]  # fmt: skip
    assert [r["mmse"] for r in rows] == [1, 2, 3, None]
    assert [r["weight_lb"] for r in rows] == [None, 150.0, None, 100.0]
    assert [r["smoking"] for r in rows] == [0, 0, 1, 2]  # the first study's value first
    assert [n.code for n in result.notes] == ["repeated-variable"]


def test_columns_are_typed_as_the_dictionary_says(dictionary: Dictionary) -> None:
    table = pa.table(
        {"subject_id": ["A"], "timepoint": ["t"], "weight_lb": pa.array([150], pa.int32())}
    )
    spec = Extraction(variables=("weight_lb",), sources=(Source("oslo", "s", 1, "x"),))
    result = extract(spec, {("oslo", "s"): table}, dictionary)
    assert result.table.schema.field("weight_lb").type == pa.float64()


def test_repeated_keys_are_refused(dictionary: Dictionary) -> None:
    table = pa.table({"subject_id": ["A", "A"], "timepoint": ["t", "t"], "mmse": [1, 2]})
    spec = Extraction(variables=("mmse",), sources=(Source("oslo", "s", 1, "x"),))
    with pytest.raises(Invalid, match="repeat"):
        extract(spec, {("oslo", "s"): table}, dictionary)


def test_repeated_subjects_in_a_subject_level_table_are_refused(
    dictionary: Dictionary, tables: dict[tuple[str, str], pa.Table]
) -> None:
    tables[("oslo", "demographics")] = pa.table({"subject_id": ["OSL-0001"] * 2, "sex": ["F", "M"]})
    with pytest.raises(ValueError, match="a subject_id repeats"):
        extract(make_spec(variables=("sex",)), tables, dictionary)


def test_input_tables_are_not_changed(
    dictionary: Dictionary, tables: dict[tuple[str, str], pa.Table]
) -> None:
    before = {k: str(t.to_pylist()) for k, t in tables.items()}  # NaN != NaN
    extract(make_spec(transforms=(ZScore("mmse"),)), tables, dictionary)
    assert {k: str(t.to_pylist()) for k, t in tables.items()} == before


def test_a_variable_in_a_visit_and_a_subject_level_table(dictionary: Dictionary) -> None:
    visits = pa.table(
        {"subject_id": ["A", "A", "B"], "timepoint": ["t1", "t2", "t1"], "sex": ["F", None, None]}
    )
    people = pa.table({"subject_id": ["A", "B"], "sex": ["M", "M"]})
    spec = Extraction(
        variables=("sex",),
        sources=(Source("oslo", "visits", 1, "x"), Source("oslo", "people", 1, "y")),
    )
    result = extract(spec, {("oslo", "visits"): visits, ("oslo", "people"): people}, dictionary)
    assert result.table["sex"].to_pylist() == ["F", "M", "M"]
    assert [n.code for n in result.notes] == ["repeated-variable"]
    assert "level" not in result.schema["fields"][-1]["cohortvault"]
