"""Fixtures for datasets: a small dictionary, tables of text as quality control reads them,
and principals of the people who create and read versions."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from cohortvault.access.policy import Principal
from cohortvault.catalog.schema import Dictionary, FieldType, Variable
from cohortvault.consortium.models import Site
from cohortvault.datasets import services
from cohortvault.identity.models import User
from tests import factories

STUDY = "study"  # factories.make_site gives every site a study of this code


def dictionary(version: int = 3) -> Dictionary:
    s, i, n = FieldType.STRING, FieldType.INTEGER, FieldType.NUMBER
    return Dictionary(
        version=version,
        variables=(
            Variable("subject_id", s, required=True, identifier=True),
            Variable("timepoint", s, required=True, identifier=True),
            Variable("site", s, identifier=True),
            Variable("mmse", i, minimum=0, maximum=30, missing_values=("-99",)),
            Variable("bmi", n, missing_values=("-88",)),
            Variable("smoker", FieldType.BOOLEAN),
            Variable("visit_date", FieldType.DATE),
            Variable("birth_month", FieldType.YEARMONTH),
            Variable("comment", s),
        ),
        missing_values=("", "NA"),
    )


def text_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows of text (None for an empty cell) as an Arrow table of string columns."""
    names = list(dict.fromkeys(name for row in rows for name in row))
    return pa.table({n: pa.array([row.get(n) for row in rows], pa.string()) for n in names})


ROWS: list[dict[str, Any]] = [
    {
        "subject_id": "OSL-0002",
        "timepoint": "wave1",
        "site": "oslo",
        "mmse": "27",
        "bmi": "23.5",
        "smoker": "no",
        "visit_date": "2021-03-04",
        "birth_month": "1950-03",
        "comment": "=HYPERLINK(1)",
    },
    {
        "subject_id": "OSL-0001",
        "timepoint": "wave2",
        "site": "oslo",
        "mmse": "-99",
        "bmi": "NA",
        "smoker": "Yes",
        "visit_date": "2023-01-31",
        "birth_month": "1948-11",
        "comment": None,
    },
    {
        "subject_id": "OSL-0001",
        "timepoint": "wave1",
        "site": "oslo",
        "mmse": "NA",
        "bmi": "-88",
        "smoker": "1",
        "visit_date": None,
        "birth_month": "1948-11",
        "comment": "-5",
    },
]


@pytest.fixture
def manager(data_manager: User) -> Principal:
    return factories.principal(data_manager)


@pytest.fixture
def member(site_member: User) -> Principal:
    return factories.principal(site_member)


@pytest.fixture
def first(site: Site, manager: Principal) -> services.VersionInfo:
    """Version 1 of oslo/study, from ``ROWS``, by the data manager."""
    return services.create_version(
        manager,
        site="oslo",
        study=STUDY,
        table=text_table(ROWS),
        dictionary=dictionary(),
        import_id=12,
        source="import 12: visit1.csv",
        reason="accepted with 1 warning",
    )
