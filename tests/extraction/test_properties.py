"""Properties (hypothesis): z-scores have mean 0 and SD 1 in every group that has two or more
different values; the wide layout holds exactly the long layout's values; specs survive JSON."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohortvault.catalog.schema import Dictionary
from cohortvault.extraction import (
    ConvertUnit,
    Dichotomise,
    Extraction,
    Recode,
    Source,
    ZScore,
    extract,
)
from tests.extraction.conftest import make_dictionary

PROPERTIES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
DICTIONARY: Dictionary = make_dictionary()
SITES = ("berlin", "oslo", "paris")
TIMEPOINTS = ("baseline", "fu1", "fu2")
VALUE = st.one_of(
    st.none(),
    st.just(-99.0),  # a missing-value code
    st.floats(min_value=-1e6, max_value=1e6).map(lambda v: round(v, 6)),
    st.integers(min_value=-5, max_value=5).map(float),  # repeats, so some groups do not vary
)


@st.composite
def site_tables(draw: st.DrawFn) -> dict[tuple[str, str], pa.Table]:
    tables = {}
    for site in draw(st.lists(st.sampled_from(SITES), min_size=1, max_size=3, unique=True)):
        keys = draw(
            st.lists(
                st.tuples(st.integers(0, 6), st.sampled_from(TIMEPOINTS)),
                min_size=1,
                max_size=12,
                unique=True,
            )
        )
        values = draw(st.lists(VALUE, min_size=len(keys), max_size=len(keys)))
        tables[(site, "study")] = pa.table(
            {
                "subject_id": [f"{site[:3].upper()}-{s}" for s, _ in keys],
                "timepoint": [t for _, t in keys],
                "weight_lb": pa.array(values, pa.float64()),
            }
        )
    return tables


def spec_for(tables: dict[tuple[str, str], pa.Table], **options: object) -> Extraction:
    sources = tuple(Source(site, study, 1, "x") for site, study in tables)
    return Extraction(variables=("weight_lb",), sources=sources, **options)  # type: ignore[arg-type]


@PROPERTIES
@given(
    tables=site_tables(), within=st.sampled_from(["site", "timepoint", "site_timepoint", "pooled"])
)
def test_zscores_have_mean_zero_and_sd_one_per_group(
    tables: dict[tuple[str, str], pa.Table], within: str
) -> None:
    spec = spec_for(tables, transforms=(ZScore("weight_lb", within, "z"),))  # type: ignore[arg-type]
    rows = extract(spec, tables, DICTIONARY).table.to_pylist()
    groups: dict[tuple[str, ...], list[tuple[float | None, float | None]]] = defaultdict(list)
    for row in rows:
        key = {"site": (row["site"],), "timepoint": (row["timepoint"],),
               "site_timepoint": (row["site"], row["timepoint"]), "pooled": ()}[within]  # fmt: skip
        value = row["weight_lb"] if row["weight_lb"] not in (None, -99.0) else None
        groups[key].append((value, row["z"]))
    for members in groups.values():
        values = [v for v, _ in members if v is not None]
        for value, z in members:
            assert (z is None) == (value is None or len(set(values)) < 2)
        if len(set(values)) >= 2:
            scores = [z for _, z in members if z is not None]
            assert math.isclose(statistics.fmean(scores), 0, abs_tol=1e-9)
            assert math.isclose(statistics.stdev(scores), 1, rel_tol=1e-9)


@PROPERTIES
@given(tables=site_tables())
def test_wide_holds_exactly_the_long_values(tables: dict[tuple[str, str], pa.Table]) -> None:
    transforms = (Dichotomise("weight_lb", 0, "positive"),)
    long = extract(spec_for(tables, transforms=transforms), tables, DICTIONARY).table
    wide = extract(spec_for(tables, transforms=transforms, layout="wide"), tables, DICTIONARY)
    subjects = {(r["site"], r["subject_id"]) for r in long.to_pylist()}
    assert wide.table.num_rows == len(subjects)
    assert long.num_rows == sum(t.num_rows for t in tables.values())
    timepoints = wide.schema["cohortvault"]["timepoints"]
    by_subject = {(r["site"], r["subject_id"]): r for r in wide.table.to_pylist()}
    cells = 0
    for row in long.to_pylist():
        wide_row = by_subject[(row["site"], row["subject_id"])]
        for name in ("weight_lb", "positive"):
            assert str(wide_row[f"{name}__{row['timepoint']}"]) == str(row[name])
        cells += 1
    # every other cell of the wide table is a visit that did not happen: empty
    present = sum(
        1
        for row in wide.table.to_pylist()
        for t in timepoints
        if (row["site"], row["subject_id"], t)
        in {(r["site"], r["subject_id"], r["timepoint"]) for r in long.to_pylist()}
    )
    assert present == cells == long.num_rows


NAMES = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)


@PROPERTIES
@given(
    factor=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).filter(lambda f: f != 0),
    offset=st.floats(allow_nan=False, allow_infinity=False),
    threshold=st.floats(allow_nan=False, allow_infinity=False),
    mapping=st.dictionaries(NAMES, NAMES, min_size=1, max_size=4),
    timepoints=st.lists(NAMES, max_size=3, unique=True),
    layout=st.sampled_from(["long", "wide"]),
)
def test_specs_survive_json(
    factor: float,
    offset: float,
    threshold: float,
    mapping: dict[str, str],
    timepoints: list[str],
    layout: str,
) -> None:
    spec = Extraction(
        variables=("weight_lb", "diagnosis"),
        sources=(Source("oslo", "memory", 3, "f" * 64),),
        transforms=(
            ConvertUnit("weight_lb", factor, offset=offset, unit="kg", output="kg"),
            Dichotomise("kg", threshold, "heavy", at_or_above=False),
            Recode("diagnosis", mapping),
        ),
        layout=layout,  # type: ignore[arg-type]
        timepoints=tuple(timepoints),
    )
    assert Extraction.from_json(spec.to_json()) == spec
