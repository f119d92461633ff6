"""Extraction tests: plain pytest, no database. Two small sites with hand-checkable values."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import pyarrow as pa
import pytest

from cohortvault.catalog.schema import Dictionary, FieldType, Variable
from cohortvault.extraction import Extraction, Source, Transform

D = datetime.date
MISSING = ("", "-99")


def make_dictionary() -> Dictionary:
    return Dictionary(
        version=7,
        variables=(
            Variable("subject_id", FieldType.STRING, "Subject ID", identifier=True, required=True),
            Variable("timepoint", FieldType.STRING, "Timepoint", identifier=True, required=True),
            Variable("site", FieldType.STRING, "Site", identifier=True, required=True),
            Variable("sex", FieldType.STRING, "Sex", categories={"F": "Female", "M": "Male"}),
            Variable("birth_month", FieldType.YEARMONTH, "Month of birth"),
            Variable("visit_date", FieldType.DATE, "Date of the visit"),
            Variable(
                "mmse", FieldType.INTEGER, "Mini-Mental State Examination", unit="points",
                minimum=0, maximum=30, missing_values=MISSING,
            ),
            Variable(
                "weight_lb", FieldType.NUMBER, "Body weight", unit="lb", missing_values=MISSING
            ),
            Variable(
                "diagnosis", FieldType.STRING, "Diagnosis", missing_values=MISSING,
                categories={"CN": "Cognitively normal", "MCI": "Mild cognitive impairment",
                            "AD": "Alzheimer's disease"},
            ),
            Variable(
                "smoking", FieldType.INTEGER, "Smoking status", missing_values=MISSING,
                categories={"0": "Never", "1": "Former", "2": "Current"},
            ),
            Variable("lives_alone", FieldType.BOOLEAN, "Lives alone"),
        ),
        missing_values=("",),
    )  # fmt: skip


def visits(
    rows: Sequence[Sequence[object]], names: list[str], types: list[pa.DataType]
) -> pa.Table:
    columns: list[Sequence[object]] = list(zip(*rows, strict=True))
    return pa.table(
        {n: pa.array(list(c), t) for n, c, t in zip(names, columns, types, strict=True)}
    )


OSLO_NAMES = ["subject_id", "timepoint", "site", "mmse", "weight_lb", "visit_date", "diagnosis",
              "smoking", "lives_alone"]  # fmt: skip
OSLO_TYPES = [pa.string(), pa.string(), pa.string(), pa.int64(), pa.float64(), pa.date32(),
              pa.string(), pa.int64(), pa.bool_()]  # fmt: skip


def oslo_memory() -> pa.Table:
    # stored out of order on purpose: the delivery sorts by subject and timepoint
    return visits(
        [
            ("OSL-0002", "fu1", "oslo", 24, float("nan"), None, "AD", 1, None),
            ("OSL-0001", "baseline", "oslo", 28, 150.0, D(2020, 2, 14), "CN", 0, True),
            ("OSL-0001", "fu1", "oslo", 26, 160.0, D(2021, 2, 15), "MCI", 2, True),
            ("OSL-0002", "baseline", "oslo", -99, -99.0, D(2020, 3, 1), "AD", -99, False),
        ],
        OSLO_NAMES,
        OSLO_TYPES,
    )


def berlin_memory() -> pa.Table:
    names = ["subject_id", "timepoint", "site", "mmse", "visit_date", "diagnosis", "smoking",
             "lives_alone"]  # fmt: skip
    types = [pa.string(), pa.string(), pa.string(), pa.int64(), pa.date32(), pa.string(),
             pa.int64(), pa.bool_()]  # fmt: skip
    return visits(
        [
            ("BER-0001", "baseline", "berlin", 20, D(2020, 1, 10), "CN", 1, False),
            ("BER-0002", "baseline", "berlin", 30, D(2020, 6, 30), "MCI", 2, None),
            ("BER-0002", "fu1", "berlin", None, D(2021, 6, 30), "-99", None, True),
        ],
        names,
        types,
    )


def demographics(rows: list[tuple[str, str | None, str | None]]) -> pa.Table:
    return visits(rows, ["subject_id", "sex", "birth_month"], [pa.string()] * 3)


SOURCES = (
    Source("oslo", "memory", 3, "a" * 64),
    Source("oslo", "demographics", 1, "b" * 64),
    Source("berlin", "memory", 2, "c" * 64),
    Source("berlin", "demographics", 1, "d" * 64),
)


def make_tables() -> dict[tuple[str, str], pa.Table]:
    return {
        ("oslo", "memory"): oslo_memory(),
        ("oslo", "demographics"): demographics(
            [("OSL-0001", "F", "1950-02"), ("OSL-0002", "M", "1960-12")]
        ),
        ("berlin", "memory"): berlin_memory(),
        ("berlin", "demographics"): demographics([("BER-0001", "F", "1955-06")]),
    }


ALL = ("sex", "birth_month", "visit_date", "mmse", "weight_lb", "diagnosis", "smoking",
       "lives_alone")  # fmt: skip


def make_spec(
    variables: tuple[str, ...] = ALL,
    transforms: tuple[Transform, ...] = (),
    **options: object,
) -> Extraction:
    return Extraction(variables=variables, sources=SOURCES, transforms=transforms, **options)  # type: ignore[arg-type]


@pytest.fixture
def dictionary() -> Dictionary:
    return make_dictionary()


@pytest.fixture
def tables() -> dict[tuple[str, str], pa.Table]:
    return make_tables()
