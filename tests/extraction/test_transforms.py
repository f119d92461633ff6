"""Each transform against values computed by hand from the two small sites of conftest.

Rows come sorted by site, subject and timepoint:

    0 berlin BER-0001 baseline   mmse 20
    1 berlin BER-0002 baseline   mmse 30
    2 berlin BER-0002 fu1        mmse (empty)
    3 oslo   OSL-0001 baseline   mmse 28
    4 oslo   OSL-0001 fu1        mmse 26
    5 oslo   OSL-0002 baseline   mmse -99 (a missing-value code)
    6 oslo   OSL-0002 fu1        mmse 24
"""

from __future__ import annotations

import datetime
import math
from typing import Any

import pyarrow as pa
import pytest

from cohortvault.catalog.schema import Dictionary
from cohortvault.extraction import (
    AgeAtVisit,
    ConvertUnit,
    Dichotomise,
    Extraction,
    Recode,
    Source,
    Transform,
    ZScore,
    extract,
)
from cohortvault.extraction.engine import Result
from tests.extraction.conftest import make_spec

S2 = math.sqrt(2)


def run(
    dictionary: Dictionary,
    tables: dict[tuple[str, str], pa.Table],
    *transforms: Transform,
    variables: tuple[str, ...] = ("mmse", "weight_lb", "diagnosis", "smoking"),
) -> Result:
    return extract(make_spec(variables, transforms), tables, dictionary)


def column(result: Result, name: str) -> list[Any]:
    values: list[Any] = result.table[name].to_pylist()
    return values


def field(result: Result, name: str) -> dict[str, Any]:
    return next(f for f in result.schema["fields"] if f["name"] == name)


def approx(values: list[float | None]) -> list[Any]:
    return [None if v is None else pytest.approx(v, abs=1e-12) for v in values]


# --- z-scores -----------------------------------------------------------------------------------

ZSCORES = {
    # berlin: 20, 30 → mean 25, SD √50; oslo: 28, 26, 24 (-99 left out) → mean 26, SD 2
    "site": [-5 / math.sqrt(50), 5 / math.sqrt(50), None, 1.0, 0.0, None, -1.0],
    # baseline: 20, 30, 28 → mean 26, SD √28; fu1: 26, 24 → mean 25, SD √2
    "timepoint": [-6 / math.sqrt(28), 4 / math.sqrt(28), None, 2 / math.sqrt(28), 1 / S2, None,
                  -1 / S2],
    # oslo baseline holds one value (28; -99 is missing): no spread, so empty
    "site_timepoint": [-1 / S2, 1 / S2, None, None, 1 / S2, None, -1 / S2],
    # all five: mean 25.6, SD √14.8
    "pooled": [v / math.sqrt(14.8) for v in (-5.6, 4.4)] + [None]
    + [v / math.sqrt(14.8) for v in (2.4, 0.4)] + [None, -1.6 / math.sqrt(14.8)],
}  # fmt: skip


@pytest.mark.parametrize("within", list(ZSCORES))
def test_zscore_by_group_leaves_out_missing_codes_and_nulls(
    dictionary: Dictionary, tables: dict[tuple[str, str], pa.Table], within: str
) -> None:
    result = run(dictionary, tables, ZScore("mmse", within=within, output="mmse_z"))  # type: ignore[arg-type]
    assert column(result, "mmse_z") == approx(ZSCORES[within])
    assert column(result, "mmse") == [20, 30, None, 28, 26, -99, 24]  # the source is kept
    described = field(result, "mmse_z")
    assert described["type"] == "number"
    assert described["cohortvault"]["unit"] == "SD"
    assert "mmse" in described["description"]
    assert described["cohortvault"]["derivedFrom"] == ["mmse"]


def test_zscore_leaves_out_nan_and_a_site_without_the_variable(
    dictionary: Dictionary, tables: dict[tuple[str, str], pa.Table]
) -> None:
    result = run(dictionary, tables, ZScore("weight_lb", within="site", output="weight_z"))
    # oslo: 150, 160 (-99 and NaN left out) → ∓1/√2; berlin has no weight at all
    assert column(result, "weight_z") == approx([None, None, None, -1 / S2, 1 / S2, None, None])


def test_zscore_in_place_replaces_the_variable(
    dictionary: Dictionary, tables: dict[tuple[str, str], pa.Table]
) -> None:
    result = run(dictionary, tables, ZScore("mmse", within="site"))
    assert column(result, "mmse") == approx(ZSCORES["site"])
    assert result.table.schema.field("mmse").type == pa.float64()
    assert field(result, "mmse")["type"] == "number"
    assert "each site" in field(result, "mmse")["description"]


def test_zscore_of_equal_values_is_empty(dictionary: Dictionary) -> None:
    table = pa.table(
        {
            "subject_id": ["A", "B", "C"],
            "timepoint": ["t", "t", "t"],
            "weight_lb": [0.1, 0.1, 0.1],
        }
    )
    spec = Extraction(
        variables=("weight_lb",),
        sources=(Source("oslo", "s", 1, "x"),),
        transforms=(ZScore("weight_lb", "pooled", "z"),),
    )
    result = extract(spec, {("oslo", "s"): table}, dictionary)
    assert column(result, "z") == [None, None, None]


# --- dichotomise ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at_or_above", "expected"),
    [
        (True, [False, True, None, True, True, None, False]),
        (False, [False, True, None, True, False, None, False]),
    ],
)
def test_dichotomise(
    dictionary: Dictionary,
    tables: dict[tuple[str, str], pa.Table],
    at_or_above: bool,
    expected: list[bool | None],
) -> None:
    result = run(dictionary, tables, Dichotomise("mmse", 26, "mmse_ok", at_or_above=at_or_above))
    assert column(result, "mmse_ok") == expected
    assert field(result, "mmse_ok")["type"] == "boolean"
    assert ("≥ 26" if at_or_above else "> 26") in field(result, "mmse_ok")["title"]


# --- recode -------------------------------------------------------------------------------------


def test_recode_text_keeps_unmapped_and_missing_codes(
    dictionary: Dictionary, tables: dict[tuple[str, str], pa.Table]
) -> None:
    result = run(dictionary, tables, Recode("diagnosis", {"MCI": "CI", "AD": "CI"}))
    assert column(result, "diagnosis") == ["CN", "CI", "-99", "CN", "CI", "CI", "CI"]
    described = field(result, "diagnosis")
    assert described["cohortvault"]["categories"] == {
        "CN": "Cognitively normal",
        "CI": "Mild cognitive impairment / Alzheimer's disease",
    }
    assert described["constraints"]["enum"] == ["CN", "CI"]
    assert "-99" in described["missingValues"]


def test_recode_with_labels_into_a_new_column(
    dictionary: Dictionary, tables: dict[tuple[str, str], pa.Table]
) -> None:
    recode = Recode(
        "diagnosis", {"MCI": "CI", "AD": "CI"}, output="impaired", labels={"CI": "Impaired"}
    )
    result = run(dictionary, tables, recode)
    assert column(result, "diagnosis") == ["CN", "MCI", "-99", "CN", "MCI", "AD", "AD"]
    assert column(result, "impaired") == ["CN", "CI", "-99", "CN", "CI", "CI", "CI"]
    assert field(result, "impaired")["cohortvault"]["categories"]["CI"] == "Impaired"


def test_recode_integer_codes_stays_integer(
    dictionary: Dictionary, tables: dict[tuple[str, str], pa.Table]
) -> None:
    result = run(dictionary, tables, Recode("smoking", {"2": "1"}, output="ever_smoked"))
    assert column(result, "smoking") == [1, 2, None, 0, 2, -99, 1]
    assert column(result, "ever_smoked") == [1, 1, None, 0, 1, -99, 1]
    assert result.table.schema.field("ever_smoked").type == pa.int64()
    assert field(result, "ever_smoked")["constraints"]["enum"] == [0, 1]


# --- unit conversion ---------------------------------------------------------------------------


def test_convert_pounds_to_kilograms(
    dictionary: Dictionary, tables: dict[tuple[str, str], pa.Table]
) -> None:
    result = run(dictionary, tables, ConvertUnit("weight_lb", 0.45359237, unit="kg"))
    # 150 lb = 68.0388555 kg, 160 lb = 72.5747792 kg; -99 and NaN are missing
    assert column(result, "weight_lb") == approx(
        [None, None, None, 68.0388555, 72.5747792, None, None]
    )
    described = field(result, "weight_lb")
    assert described["cohortvault"]["unit"] == "kg"
    assert "0.45359237" in described["description"]
    assert "lb" in described["description"]


def test_convert_with_an_offset(
    dictionary: Dictionary, tables: dict[tuple[str, str], pa.Table]
) -> None:
    convert = ConvertUnit("mmse", 0.5, offset=-10, unit="half points", output="half")
    result = run(dictionary, tables, convert)
    assert column(result, "half") == approx([0.0, 5.0, None, 4.0, 3.0, None, 2.0])


# --- age at visit -------------------------------------------------------------------------------


def test_age_at_visit_from_the_fixture(
    dictionary: Dictionary, tables: dict[tuple[str, str], pa.Table]
) -> None:
    result = run(dictionary, tables, AgeAtVisit(), variables=("birth_month", "visit_date", "mmse"))
    # BER-0001 born 1955-06 (15th), seen 2020-01-10: 64 years + 209/366 days → 64.6;
    # BER-0002 has no month of birth; OSL-0001 born 1950-02, seen the day before the 15th of
    # February 2020: 69 + 364/365 → 70.0, and on the 15th a year later: 71.0;
    # OSL-0002 born 1960-12, seen 2020-03-01: 59 + 77/366 → 59.2; then no visit date.
    assert column(result, "age_at_visit") == [64.6, None, None, 70.0, 71.0, 59.2, None]
    described = field(result, "age_at_visit")
    assert described["cohortvault"]["unit"] == "years"
    assert described["cohortvault"]["derivedFrom"] == ["birth_month", "visit_date"]


@pytest.mark.parametrize(
    ("born", "seen", "expected"),
    [
        ("2000-02", datetime.date(2020, 2, 29), 20.0),  # a leap day: 20 + 14/366
        # 347 days after the 15th of March: of a year of age holding 29 February 2020
        # (366 days) that is 0.948 → 20.9; of one without (365 days) 0.951 → 22.0
        ("1999-03", datetime.date(2020, 2, 25), 20.9),
        ("1999-03", datetime.date(2021, 2, 25), 22.0),
        ("2000-01", datetime.date(2000, 1, 15), 0.0),
        ("2000-01", datetime.date(2000, 1, 14), None),  # before birth
        (None, datetime.date(2020, 1, 1), None),
        ("2000-01", None, None),
        ("2000-13", datetime.date(2020, 1, 1), None),  # not a month
    ],
)
def test_age_at_visit(
    dictionary: Dictionary, born: str | None, seen: datetime.date | None, expected: float | None
) -> None:
    table = pa.table(
        {
            "subject_id": ["A"],
            "timepoint": ["t"],
            "birth_month": pa.array([born], pa.string()),
            "visit_date": pa.array([seen], pa.date32()),
        }
    )
    spec = Extraction(
        variables=("birth_month", "visit_date"),
        sources=(Source("oslo", "s", 1, "x"),),
        transforms=(AgeAtVisit(output="age"),),
    )
    assert column(extract(spec, {("oslo", "s"): table}, dictionary), "age") == [expected]


# --- chains ------------------------------------------------------------------------------------


def test_a_transform_may_read_what_an_earlier_one_wrote(
    dictionary: Dictionary, tables: dict[tuple[str, str], pa.Table]
) -> None:
    result = run(
        dictionary,
        tables,
        ConvertUnit("weight_lb", 0.45359237, unit="kg", output="weight_kg"),
        Dichotomise("weight_kg", 70, "heavy"),
        ZScore("weight_kg", "pooled", "weight_z"),
    )
    assert column(result, "heavy") == [None, None, None, False, True, None, None]
    assert column(result, "weight_z") == approx([None, None, None, -1 / S2, 1 / S2, None, None])
    assert field(result, "heavy")["cohortvault"]["derivedFrom"] == ["weight_lb"]
    assert len(field(result, "heavy")["cohortvault"]["transforms"]) == 2
    assert result.table.column_names[-3:] == ["weight_kg", "heavy", "weight_z"]
