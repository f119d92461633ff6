"""The spec: every problem ``SpecError`` names, and the JSON round trip."""

from __future__ import annotations

import json

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
    SpecError,
    ZScore,
    extract,
)
from tests.extraction.conftest import SOURCES, make_spec


def problems_of(error: pytest.ExceptionInfo[SpecError]) -> str:
    assert isinstance(error.value, ValueError)
    return "\n".join(error.value.problems)


def test_a_valid_spec_validates(dictionary: Dictionary) -> None:
    spec = make_spec(
        transforms=(
            ZScore("mmse", "site", "mmse_z"),
            Dichotomise("mmse", 24, "mmse_ok"),
            Recode("diagnosis", {"MCI": "CI"}),
            ConvertUnit("weight_lb", 0.45359237, unit="kg", output="weight_kg"),
            AgeAtVisit(),
        )
    )
    spec.validate(dictionary)
    assert spec.problems(dictionary) == []


def test_empty_selection() -> None:
    with pytest.raises(SpecError) as error:
        make_spec(variables=())
    assert "No variables" in problems_of(error)


def test_variables_not_in_the_dictionary(dictionary: Dictionary) -> None:
    spec = make_spec(variables=("mmse", "shoe_size", "iq"))
    with pytest.raises(SpecError) as error:
        spec.validate(dictionary)
    assert "shoe_size is not in the data dictionary (version 7)" in problems_of(error)
    assert "iq is not in the data dictionary" in problems_of(error)
    assert len(error.value.problems) == 2


def test_transform_on_a_variable_not_selected() -> None:
    with pytest.raises(SpecError) as error:
        make_spec(variables=("mmse",), transforms=(ZScore("weight_lb", "site", "w"),))
    assert "reads weight_lb, which is not selected" in problems_of(error)


def test_age_at_visit_needs_both_variables_selected() -> None:
    with pytest.raises(SpecError) as error:
        make_spec(variables=("birth_month",), transforms=(AgeAtVisit(),))
    assert "reads visit_date" in problems_of(error)


def test_two_transforms_writing_the_same_output() -> None:
    with pytest.raises(SpecError) as error:
        make_spec(
            variables=("mmse", "weight_lb"),
            transforms=(ZScore("mmse", "site", "z"), ZScore("weight_lb", "site", "z")),
        )
    assert "transform 2 (zscore) writes z, as transform 1 already does" in problems_of(error)


def test_two_in_place_transforms_of_one_variable_conflict() -> None:
    with pytest.raises(SpecError) as error:
        make_spec(
            variables=("weight_lb",),
            transforms=(ConvertUnit("weight_lb", 0.5, unit="kg"), ZScore("weight_lb")),
        )
    assert "writes weight_lb, as transform 1 already does" in problems_of(error)


def test_output_colliding_with_a_selected_variable() -> None:
    with pytest.raises(SpecError) as error:
        make_spec(
            variables=("mmse", "weight_lb"), transforms=(ZScore("mmse", "site", "weight_lb"),)
        )
    assert "writes weight_lb, which is a selected variable" in problems_of(error)


def test_output_colliding_with_an_identifier() -> None:
    with pytest.raises(SpecError) as error:
        make_spec(variables=("mmse",), transforms=(Dichotomise("mmse", 3, "site"),))
    assert "writes site, an identifier" in problems_of(error)


def test_recode_of_a_numeric_variable_with_text_targets(dictionary: Dictionary) -> None:
    spec = make_spec(variables=("smoking",), transforms=(Recode("smoking", {"2": "yes"}),))
    with pytest.raises(SpecError) as error:
        spec.validate(dictionary)
    assert "smoking is integer, so its codes must be whole numbers, not 'yes'" in problems_of(error)


def test_recode_of_a_boolean_or_date(dictionary: Dictionary) -> None:
    spec = make_spec(
        variables=("lives_alone", "visit_date"),
        transforms=(Recode("lives_alone", {"true": "false"}, output="x"),
                    Recode("visit_date", {"2020-01-01": "2020-01-02"}, output="y")),
    )  # fmt: skip
    with pytest.raises(SpecError) as error:
        spec.validate(dictionary)
    assert len(error.value.problems) == 2
    assert "lives_alone is boolean" in problems_of(error)


@pytest.mark.parametrize(
    "transform",
    [
        ZScore("diagnosis", "site", "z"),
        Dichotomise("diagnosis", 1, "d"),
        ConvertUnit("diagnosis", 2, unit="x", output="c"),
    ],
)
def test_numeric_transforms_of_text(dictionary: Dictionary, transform: object) -> None:
    spec = make_spec(variables=("diagnosis",), transforms=(transform,))  # type: ignore[arg-type]
    with pytest.raises(SpecError) as error:
        spec.validate(dictionary)
    assert "diagnosis is string, not a number" in problems_of(error)


def test_age_at_visit_types(dictionary: Dictionary) -> None:
    spec = make_spec(
        variables=("mmse", "diagnosis"),
        transforms=(AgeAtVisit("mmse", "diagnosis", "age"),),
    )
    with pytest.raises(SpecError) as error:
        spec.validate(dictionary)
    assert "mmse is integer, not yearmonth" in problems_of(error)
    assert "diagnosis is string, not a date" in problems_of(error)


def test_every_structural_problem_is_listed_at_once() -> None:
    with pytest.raises(SpecError) as error:
        Extraction(
            variables=("mmse", "mmse", "site"),
            sources=(),
            transforms=(
                ZScore("mmse", "weekly", "bad name"),  # type: ignore[arg-type]
                ConvertUnit("mmse", 0, unit="", output="c"),
            ),
            layout="tall",  # type: ignore[arg-type]
            timepoints=("t1", "t1"),
        )
    text = problems_of(error)
    for expected in (
        "mmse is selected twice",
        "site is always delivered",
        "No sources",
        "layout must be one of long, wide",
        "timepoint t1 is named twice",
        "'bad name' is not a column name",
        "within must be one of site, timepoint, site_timepoint, pooled",
        "the factor must not be 0",
        "name the new unit",
    ):
        assert expected in text
    assert str(error.value).startswith(f"The extraction spec has {len(error.value.problems)}")


def test_sources_must_be_complete_and_unique() -> None:
    with pytest.raises(SpecError) as error:
        Extraction(
            variables=("mmse",),
            sources=(Source("oslo", "memory", 1, ""), Source("oslo", "memory", 1, "x")),
        )
    assert "checksum must be non-empty" in problems_of(error)
    assert "source oslo/memory is named twice" in problems_of(error)


def test_tables_must_match_the_sources(
    dictionary: Dictionary, tables: dict[tuple[str, str], pa.Table]
) -> None:
    del tables[("berlin", "memory")]
    tables[("paris", "memory")] = pa.table({"subject_id": ["P"], "timepoint": ["t"]})
    with pytest.raises(SpecError) as error:
        extract(make_spec(variables=("mmse",)), tables, dictionary)
    assert "no table was given for source berlin/memory (version 2)" in problems_of(error)
    assert "table paris/memory is not a source" in problems_of(error)


def test_a_site_needs_a_table_with_timepoints(dictionary: Dictionary) -> None:
    spec = Extraction(variables=("sex",), sources=(Source("oslo", "demographics", 1, "x"),))
    table = pa.table({"subject_id": ["A"], "sex": ["F"]})
    with pytest.raises(SpecError) as error:
        extract(spec, {("oslo", "demographics"): table}, dictionary)
    assert "site oslo has no table with timepoints" in problems_of(error)


# --- JSON --------------------------------------------------------------------------------------


def test_json_round_trip() -> None:
    spec = make_spec(
        transforms=(
            ZScore("mmse", "site_timepoint", "mmse_z"),
            Dichotomise("mmse", 23.5, "mmse_low", at_or_above=False),
            Recode("diagnosis", {"MCI": "CI", "AD": "CI"}, labels={"CI": "Impaired"}),
            ConvertUnit("weight_lb", 0.45359237, offset=1.5, unit="kg", output="weight_kg"),
            AgeAtVisit(output="age"),
        ),
        layout="wide",
        timepoints=("baseline", "fu1"),
    )
    text = spec.to_json()
    again = Extraction.from_json(text)
    assert again == spec
    assert again.to_json() == text
    data = json.loads(text)
    assert data["sources"][0] == {"site": "oslo", "study": "memory", "version": 3,
                                  "checksum": "a" * 64}  # fmt: skip
    assert [t["kind"] for t in data["transforms"]] == [
        "zscore", "dichotomise", "recode", "convert_unit", "age_at_visit"
    ]  # fmt: skip


def test_from_json_lists_every_problem() -> None:
    data = {
        "variables": ["mmse"],
        "sources": [{"site": "oslo", "study": "memory", "version": 1}],
        "transforms": [{"kind": "logarithm", "variable": "mmse"}, {"kind": "zscore"}],
        "colour": "blue",
    }
    with pytest.raises(SpecError) as error:
        Extraction.from_json(json.dumps(data))
    text = problems_of(error)
    assert "unknown key 'colour'" in text
    assert "source 1:" in text and "checksum" in text
    assert "unknown transform kind 'logarithm'" in text
    assert "transform 2:" in text and "variable" in text


def test_from_json_refuses_what_is_not_json() -> None:
    with pytest.raises(SpecError, match="not JSON"):
        Extraction.from_json("{")
    with pytest.raises(SpecError, match="JSON object"):
        Extraction.from_dict([])


def test_lists_become_tuples() -> None:
    spec = Extraction(variables=["mmse"], sources=list(SOURCES), timepoints=["t1"])  # type: ignore[arg-type]
    assert spec.variables == ("mmse",)
    assert isinstance(spec.sources, tuple)
