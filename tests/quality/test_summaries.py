"""Column summaries, the missingness matrix and its SVG picture, the report's JSON and CSV,
and masking."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest

from cohortvault.quality import Report, missingness_svg
from cohortvault.quality.masking import mask
from cohortvault.quality.model import Missingness, MissingnessCell
from tests.quality.helpers import T, Variable, report

SEX = Variable("sex", T.STRING, categories={"F": "female", "M": "male"})
MMSE = Variable("mmse", T.INTEGER, minimum=0, maximum=30, timepoints=("t1",))
NOTE = Variable("note", T.STRING)
CSV = """subject_id,timepoint,site,sex,mmse,note
OSL-0001,t0,oslo,F,,Kari Nordmann
OSL-0001,t1,oslo,F,28,ok
OSL-0002,t0,oslo,M,-99,
OSL-0002,t1,oslo,X,30,
OSL-0003,t1,oslo,,,
"""


@pytest.fixture
def result() -> Report:
    return report(CSV, SEX, MMSE, NOTE, Variable("moca", T.INTEGER))


def summary(result: Report, name: str):  # type: ignore[no-untyped-def]
    return next(c for c in result.columns if c.name == name)


def test_categorical_summary(result: Report) -> None:
    sex = summary(result, "sex")
    assert sex.non_missing == 4 and sex.missing == {"": 1}
    assert [(c.code, c.label, c.count) for c in sex.categories] == [
        ("F", "female", 2),
        ("M", "male", 1),
    ]
    assert sex.other_values == 1


def test_numeric_summary(result: Report) -> None:
    mmse = summary(result, "mmse")
    assert (mmse.minimum, mmse.maximum, mmse.mean) == (28, 30, 29)
    assert mmse.missing == {"": 2, "-99": 1} and mmse.non_missing == 2


def test_free_text_values_never_appear_in_summaries(result: Report) -> None:
    assert "Kari" not in json.dumps([c.__dict__ for c in result.columns], default=str)


def test_missingness_by_variable_and_timepoint(result: Report) -> None:
    matrix = result.missingness
    assert matrix.timepoints == ("t0", "t1")
    assert matrix.variables == ("sex", "mmse", "note")
    assert matrix.absent == ("moca",)
    assert matrix.cells["mmse"]["t0"] == MissingnessCell(rows=2, missing=2, expected=False)
    assert matrix.cells["mmse"]["t1"] == MissingnessCell(rows=3, missing=1, expected=True)
    assert matrix.cells["sex"]["t1"].missing == 1


def test_svg_is_well_formed_and_has_no_styles(result: Report) -> None:
    picture = missingness_svg(result.missingness)
    root = ET.fromstring(picture)  # noqa: S314 - our own output
    assert root.tag.endswith("svg")
    assert "style" not in picture and "<script" not in picture and "href" not in picture
    titles = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert any("mmse at t1: 1 of 3 missing" in t for t in titles)
    assert any("moca: no column" in t for t in titles)


def test_svg_escapes_names() -> None:
    matrix = Missingness(
        variables=("<b>&x",),
        timepoints=('t"0',),
        cells={"<b>&x": {'t"0': MissingnessCell(2, 1, True)}},
    )
    picture = missingness_svg(matrix)
    ET.fromstring(picture)  # noqa: S314 - our own output
    assert "<b>" not in picture


def test_empty_matrix_still_draws() -> None:
    ET.fromstring(missingness_svg(Missingness()))  # noqa: S314 - our own output


def test_json_round_trip(result: Report) -> None:
    again = Report.from_json(result.to_json())
    assert again.to_dict() == result.to_dict()
    data = json.loads(result.to_json())
    assert data["ok"] is False and data["counts"]["errors"] == len(result.errors)
    assert data["personal_data"] is True


def test_csv_of_findings_neutralises_formulas() -> None:
    result = report(CSV.replace("ok", '"=cmd|calc"'), SEX, MMSE, NOTE)
    text = result.to_csv()
    records = list(csv.reader(io.StringIO(text)))
    assert records[0] == ["severity", "check", "column", "rows", "row", "example", "message"]
    formula = next(r for r in records if r[1] == "formula")
    assert formula[5].startswith("'=")
    assert all(not cell.startswith(("=", "+", "-", "@")) for r in records for cell in r)


@pytest.mark.parametrize(
    "value,masked",
    [
        ("kari.nordmann@example.no", "k•••@•••.no"),
        ("01019012345", "01•••••••45"),
        ("Kari", "K••i"),
        ("ab", "a•"),
        ("x", "•"),
        ("943 476 5919", "94••••••••19"),
    ],
)
def test_masking(value: str, masked: str) -> None:
    assert mask(value) == masked
