"""The demo's dictionary: realistic, installed as version 1 by the data manager, published,
and the demo's sample files conform to it."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pytest
from frictionless import Resource, Schema

from cohortvault.catalog import services
from cohortvault.catalog.schema import Dictionary, FieldType
from cohortvault.demo import samples
from cohortvault.demo.build import build
from cohortvault.files import services as files
from tests import factories


def test_the_demo_dictionary_is_realistic(demo: Dictionary) -> None:
    assert len(demo.variables) >= 40
    by_domain: dict[str, int] = {}
    for v in demo.variables:
        by_domain[v.domain] = by_domain.get(v.domain, 0) + 1
    assert by_domain["demographics"] >= 6
    assert by_domain["cognition"] >= 12
    assert by_domain["mri-derived"] >= 12
    assert {"sex", "education_years", "handedness", "birth_month"} <= set(demo.names)
    assert demo.variable("birth_month").type is FieldType.YEARMONTH  # type: ignore[union-attr]
    mmse = demo.variable("mmse")
    assert mmse is not None and (mmse.minimum, mmse.maximum, mmse.unit) == (0, 30, "points")
    assert demo.variable("clock_drawing").categories  # type: ignore[union-attr]
    assert demo.variable("hippocampus_left_ml").unit == "mL"  # type: ignore[union-attr]
    assert demo.variable("cortical_thickness_mean_mm").unit == "mm"  # type: ignore[union-attr]
    assert sum(1 for v in demo.variables if v.unit) >= 30
    assert sum(1 for v in demo.variables if v.categories) >= 10
    assert all("-99" in v.missing_values for v in demo.variables if v.domain == "cognition")
    assert demo.variable("subject_id").pattern == "[A-Z]{3}-[0-9]{4}"  # type: ignore[union-attr]


def test_sample_files_conform_to_the_demo_dictionary(demo: Dictionary) -> None:
    """Checked by the Frictionless library itself, with the dictionary's own Table Schema."""
    header = samples.COLUMNS.strip().split(",")
    schema = demo.to_table_schema()
    schema["fields"] = [f for f in schema["fields"] if f["name"] in header]
    assert [f["name"] for f in schema["fields"]] == header
    rng = random.Random(7)
    waves = [("oslo", "wave1"), ("uppsala", "followup"), ("berlin", "t2"), ("madrid", "latest")]
    for site, wave in waves:
        data = samples.cognition_csv(site, wave, rng).encode()
        report = Resource(data, format="csv", schema=Schema.from_descriptor(schema)).validate()
        assert report.valid, report.flatten(["rowNumber", "fieldName", "note"])
    broken = samples.cognition_csv("oslo", "wave1", rng).replace(",F,", ",female,", 1)
    report = Resource(broken.encode(), format="csv", schema=Schema.from_descriptor(schema))
    assert not report.validate().valid


@pytest.mark.django_db
def test_the_demo_installs_and_publishes_version_one(tmp_path: Path, demo: Dictionary) -> None:
    build(tmp_path)
    [info] = services.versions()
    assert (info.number, info.created_by, info.variables) == (1, "dm-anna", len(demo.variables))
    assert services.current().variables == demo.variables
    reader = factories.principal(factories.make_user("reader"))
    published = files.read_file(reader, "logs/data-dictionary/data-dictionary.json")
    schema = json.loads(b"".join(published.chunks))
    assert schema["cohortvault"] == {"dictionaryVersion": 1}
    page = files.read_file(reader, "logs/data-dictionary/data-dictionary.md")
    assert io.BytesIO(b"".join(page.chunks)).read().startswith(b"# Data dictionary, version 1")
