"""The cell-level diff: added and removed rows and columns, changed cells (nulls included),
type changes, the CSV and JSON forms, and a property test: random small tables with random
edits, and the diff reports exactly those edits."""

from __future__ import annotations

import csv
import datetime
import io
import json
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohortvault.access.policy import Principal
from cohortvault.datasets import services
from cohortvault.datasets.diff import compare
from tests.datasets.conftest import ROWS, STUDY, dictionary, text_table

KEY = ("subject_id", "timepoint")


def table(rows: list[dict[str, Any]], types: dict[str, pa.DataType] | None = None) -> pa.Table:
    names = list(dict.fromkeys(n for row in rows for n in row))
    kinds = types or {}
    return pa.table(
        {n: pa.array([r.get(n) for r in rows], kinds.get(n, pa.string())) for n in names}
    )


def changes(found: Any) -> list[tuple[Any, ...]]:
    return [tuple(c.values()) for c in found.changes.to_pylist()]


def test_added_removed_and_changed() -> None:
    ints = {"score": pa.int64()}
    old = table(
        [
            {"subject_id": "A", "timepoint": "t1", "score": 1, "note": "x"},
            {"subject_id": "B", "timepoint": "t1", "score": 2, "note": None},
            {"subject_id": "C", "timepoint": "t1", "score": None, "note": "gone"},
        ],
        ints,
    )
    new = table(
        [
            {"subject_id": "B", "timepoint": "t1", "score": 2, "note": "now", "extra": "e"},
            {"subject_id": "A", "timepoint": "t1", "score": None, "note": "x", "extra": None},
            {"subject_id": "A", "timepoint": "t2", "score": 5, "note": None, "extra": "new"},
        ],
        ints,
    )
    found = compare(old, new, old_number=1, new_number=2)
    assert found.rows_added.to_pylist() == [{"subject_id": "A", "timepoint": "t2"}]
    assert found.rows_removed.to_pylist() == [{"subject_id": "C", "timepoint": "t1"}]
    assert found.columns_added == ("extra",) and found.columns_removed == ()
    assert changes(found) == [("A", "t1", "score", "1", None), ("B", "t1", "note", None, "now")]
    assert found.totals == {
        "rows_added": 1,
        "rows_removed": 1,
        "rows_changed": 2,
        "cells_changed": 2,
        "columns_added": 1,
        "columns_removed": 0,
        "columns_retyped": 0,
    }
    assert found.summary() == (
        "1 row(s) added, 1 row(s) removed, 2 cell(s) changed, 1 column(s) added"
    )
    assert not found.empty and compare(old, old).empty


def test_values_compare_by_type_and_report_as_text() -> None:
    kinds = {
        "n": pa.float64(),
        "b": pa.bool_(),
        "d": pa.date32(),
        "i": pa.int64(),
        "keep": pa.int64(),
    }
    day = datetime.date(2021, 3, 4)
    old = table(
        [{"subject_id": "A", "timepoint": "t", "n": 0.1, "b": True, "d": day, "i": 7, "keep": 1}],
        kinds,
    )
    new = table(
        [
            {
                "subject_id": "A",
                "timepoint": "t",
                "n": 0.25,
                "b": False,
                "d": datetime.date(2021, 3, 5),
                "i": 7.0,
                "keep": 1,
            }
        ],
        {**kinds, "i": pa.float64()},
    )
    found = compare(old, new)
    assert changes(found) == [
        ("A", "t", "n", "0.1", "0.25"),
        ("A", "t", "b", "true", "false"),
        ("A", "t", "d", "2021-03-04", "2021-03-05"),
    ]  # 7 and 7.0 are the same number
    assert [(r.column, r.old, r.new) for r in found.columns_retyped] == [("i", "integer", "number")]


def test_a_retyped_column_compares_as_text() -> None:
    old = table([{"subject_id": "A", "timepoint": "t", "v": 5}], {"v": pa.int64()})
    new = table(
        [
            {"subject_id": "A", "timepoint": "t", "v": "5"},
        ]
    )
    assert compare(old, new).changes.num_rows == 0
    newer = table([{"subject_id": "A", "timepoint": "t", "v": "05"}])
    assert changes(compare(old, newer)) == [("A", "t", "v", "5", "05")]


def test_removed_columns_and_unsorted_input() -> None:
    old = table(
        [
            {"subject_id": "B", "timepoint": "t", "a": "1", "b": "x"},
            {"subject_id": "A", "timepoint": "t", "a": "2", "b": "y"},
        ]
    )
    new = table([{"subject_id": "A", "timepoint": "t", "a": "3"}])
    found = compare(old, new)
    assert found.columns_removed == ("b",)
    assert found.rows_removed.to_pylist() == [{"subject_id": "B", "timepoint": "t"}]
    assert changes(found) == [("A", "t", "a", "2", "3")]


def test_csv_and_json_forms() -> None:
    old = table([{"subject_id": "A", "timepoint": "t", "f": "=1+2", "g": "1"}])
    new = table(
        [
            {"subject_id": "A", "timepoint": "t", "f": "@SUM(A1)", "h": "x"},
            {"subject_id": "-B", "timepoint": "t", "f": None, "h": None},
        ]
    )
    found = compare(old, new, old_number=3, new_number=4, site="oslo", study="s")
    lines = list(csv.reader(io.StringIO(found.to_csv().decode())))
    assert lines == [
        ["kind", "subject_id", "timepoint", "column", "old", "new"],
        ["column added", "", "", "h", "", ""],
        ["column removed", "", "", "g", "", ""],
        ["row added", "'-B", "t", "", "", ""],
        ["changed", "A", "t", "f", "'=1+2", "'@SUM(A1)"],
    ]
    data = json.loads(found.to_json())
    assert data["changes"] == [
        {"subject_id": "A", "timepoint": "t", "column": "f", "old": "=1+2", "new": "@SUM(A1)"}
    ]
    assert data["rows_added"] == [{"subject_id": "-B", "timepoint": "t"}]
    assert (data["site"], data["old"], data["new"], data["truncated"]) == ("oslo", 3, 4, False)
    assert data["totals"]["cells_changed"] == 1


def test_a_page_shows_a_capped_number_of_changes() -> None:
    old = table([{"subject_id": f"S{i:04d}", "timepoint": "t", "v": "a"} for i in range(30)])
    new = table([{"subject_id": f"S{i:04d}", "timepoint": "t", "v": "b"} for i in range(30)])
    found = compare(old, new)
    capped = found.to_dict(limit=10)
    assert len(capped["changes"]) == 10 and capped["truncated"] is True
    assert capped["totals"]["cells_changed"] == 30
    assert len(found.to_dict()["changes"]) == 30
    assert len(found.to_csv().splitlines()) == 31


@pytest.mark.django_db
def test_the_service_diffs_stored_versions(first: services.VersionInfo, manager: Principal) -> None:
    edited = [dict(r) for r in ROWS]
    edited[0]["mmse"] = "28"
    edited[1]["bmi"] = "31.5"
    del edited[2]
    services.create_version(
        manager, site="oslo", study=STUDY, table=text_table(edited), dictionary=dictionary()
    )
    found = services.diff(manager, "oslo", STUDY, 1, 2)
    assert (found.site, found.study, found.old, found.new) == ("oslo", STUDY, 1, 2)
    assert found.rows_removed.to_pylist() == [{"subject_id": "OSL-0001", "timepoint": "wave1"}]
    assert changes(found) == [
        ("OSL-0001", "wave2", "bmi", None, "31.5"),
        ("OSL-0002", "wave1", "mmse", "27", "28"),
    ]
    backwards = services.diff(manager, "oslo", STUDY, 2, 1)
    assert backwards.rows_added.num_rows == 1 and backwards.rows_removed.num_rows == 0


# --- the property: the diff reports exactly the edits ------------------------------------------

COLUMNS = {"n": pa.int64(), "s": pa.string(), "b": pa.bool_()}
VALUES = {
    "n": st.one_of(st.none(), st.integers(-3, 3)),
    "s": st.one_of(st.none(), st.sampled_from(["", "a", "b", "=x", "ø"])),
    "b": st.one_of(st.none(), st.booleans()),
}


def text_of(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@st.composite
def edited_tables(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    keys = draw(
        st.lists(
            st.tuples(st.sampled_from(["A", "B", "C", "D"]), st.sampled_from(["t1", "t2"])),
            unique=True,
            max_size=8,
        )
    )
    old = [
        {"subject_id": s, "timepoint": t, **{c: draw(VALUES[c]) for c in COLUMNS}} for s, t in keys
    ]
    new = []
    for row in old:
        if draw(st.booleans()) and draw(st.booleans()):
            continue  # removed
        edited = dict(row)
        for name in COLUMNS:
            if draw(st.booleans()):
                edited[name] = draw(VALUES[name])
        new.append(edited)
    taken = {(r["subject_id"], r["timepoint"]) for r in old}
    for s, t in draw(
        st.lists(
            st.tuples(st.sampled_from("EFG"), st.sampled_from(["t1"])), max_size=3, unique=True
        )
    ):
        if (s, t) not in taken:
            new.append({"subject_id": s, "timepoint": t, **{c: draw(VALUES[c]) for c in COLUMNS}})
    added_column = draw(st.sampled_from(["", "extra"]))
    if added_column:
        for row in new:
            row[added_column] = "e"
    draw(st.randoms()).shuffle(new)
    return old, new, added_column


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edited_tables())
def test_the_diff_reports_exactly_the_edits(
    edit: tuple[list[dict[str, Any]], list[dict[str, Any]], str],
) -> None:
    old_rows, new_rows, added_column = edit
    kinds = {**COLUMNS, "extra": pa.string()}
    empty = {k: None for k in (*KEY, *COLUMNS)}
    old = table(old_rows or [empty], kinds).slice(0, len(old_rows))
    new = table(new_rows or [empty], kinds).slice(0, len(new_rows))
    found = compare(old, new)

    before = {(r["subject_id"], r["timepoint"]): r for r in old_rows}
    after = {(r["subject_id"], r["timepoint"]): r for r in new_rows}
    as_keys = [{"subject_id": s, "timepoint": t} for s, t in sorted(after.keys() - before.keys())]
    assert found.rows_added.to_pylist() == as_keys
    gone = [{"subject_id": s, "timepoint": t} for s, t in sorted(before.keys() - after.keys())]
    assert found.rows_removed.to_pylist() == gone
    expected = [
        (s, t, name, text_of(before[s, t][name]), text_of(after[s, t][name]))
        for s, t in sorted(before.keys() & after.keys())
        for name in COLUMNS
        if before[s, t][name] != after[s, t][name]
        or (before[s, t][name] is None) != (after[s, t][name] is None)
    ]
    assert changes(found) == expected
    assert found.columns_added == ((added_column,) if added_column and new_rows else ())
    assert found.totals["rows_changed"] == len({(s, t) for s, t, *_ in expected})


def test_text_read_as_dictionary_compares_like_text() -> None:
    old = table([{"subject_id": "A", "timepoint": "t", "v": "x", "w": "same"}])
    new = table([{"subject_id": "A", "timepoint": "t", "v": "y", "w": "same"}])
    encoded = pa.table(
        {
            n: c.dictionary_encode() if n in ("v", "w") else c
            for n, c in zip(new.column_names, new.columns, strict=True)
        }
    )
    for a, b in ((old, encoded), (encoded, old), (encoded, encoded)):
        found = compare(a, b)
        assert found.columns_retyped == ()
    assert changes(compare(old, encoded)) == [("A", "t", "v", "x", "y")]
