"""The delivery folder: files, a Data Package that ``frictionless`` validates, data that reads
back with its declared types, the codebook, the provenance manifest, atomic writing, and the
diff between deliveries."""

from __future__ import annotations

import datetime
import hashlib
import json
from decimal import Decimal
from pathlib import Path

import frictionless
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from cohortvault.catalog.schema import Dictionary
from cohortvault.extraction import (
    AgeAtVisit,
    ConvertUnit,
    Dichotomise,
    Recode,
    ZScore,
    delivery,
    delivery_diff,
    extract,
    write_delivery,
)
from cohortvault.extraction.engine import Result
from tests.extraction.conftest import make_spec

ARROW = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "yearmonth": pa.string(),
}
TRANSFORMS = (
    ZScore("mmse", "site", "mmse_z"),
    Dichotomise("mmse", 26, "mmse_ok"),
    Recode("diagnosis", {"MCI": "CI", "AD": "CI"}, output="impaired"),
    ConvertUnit("weight_lb", 0.45359237, unit="kg", output="weight_kg"),
    AgeAtVisit(),
)
PROVENANCE = {"project": "alpha", "requested_by": "dm-1", "approval": "GA-2026-04"}


@pytest.fixture(params=["long", "wide"])
def result(
    request: pytest.FixtureRequest, dictionary: Dictionary, tables: dict[tuple[str, str], pa.Table]
) -> Result:
    return extract(make_spec(transforms=TRANSFORMS, layout=request.param), tables, dictionary)


@pytest.fixture
def folder(result: Result, tmp_path: Path) -> Path:
    write_delivery(result, tmp_path / "delivery-1", provenance=PROVENANCE)
    return tmp_path / "delivery-1"


def test_the_files(result: Result, tmp_path: Path) -> None:
    paths = write_delivery(result, tmp_path / "out", provenance=PROVENANCE)
    assert [p.name for p in paths] == [
        "data.csv", "data.parquet", "datapackage.json", "codebook.md", "provenance.json"
    ]  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary folder left


def test_datapackage_validates_with_frictionless(folder: Path) -> None:
    report = frictionless.validate(str(folder / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "message"])
    package = json.loads((folder / "datapackage.json").read_text())
    (resource,) = package["resources"]
    assert resource["path"] == "data.csv"
    assert resource["hash"] == "sha256:" + sha256(folder / "data.csv")


def test_csv_reads_back_with_the_declared_types_in_frictionless(
    folder: Path, result: Result
) -> None:
    package = frictionless.Package(str(folder / "datapackage.json"))
    resource = package.get_resource("data")
    assert isinstance(resource, frictionless.resources.TableResource)
    rows = resource.read_rows()
    assert len(rows) == result.table.num_rows
    first_oslo = next(r for r in rows if r["subject_id"] == "OSL-0002")
    if result.spec.layout == "long":
        oslo_rows = [r for r in rows if r["subject_id"] == "OSL-0002"]
        assert oslo_rows[1]["weight_lb"].is_nan()
        assert oslo_rows[0]["mmse"] is None  # -99 is declared missing
        assert oslo_rows[1]["mmse"] == 24
        assert oslo_rows[0]["visit_date"] == datetime.date(2020, 3, 1)
        assert oslo_rows[0]["lives_alone"] is False
        assert oslo_rows[0]["age_at_visit"] == Decimal("59.2")
        assert oslo_rows[0]["impaired"] == "CI"
    else:
        assert first_oslo["mmse__baseline"] is None
        assert first_oslo["mmse__fu1"] == 24
        assert first_oslo["visit_date__baseline"] == datetime.date(2020, 3, 1)
        assert first_oslo["sex"] == "M"


def test_csv_and_parquet_read_back_with_pyarrow(folder: Path, result: Result) -> None:
    fields = result.schema["fields"]
    types = {f["name"]: ARROW[f["type"]] for f in fields}
    options = pacsv.ConvertOptions(column_types=types, strings_can_be_null=True, null_values=[""])
    from_csv = pacsv.read_csv(folder / "data.csv", convert_options=options)
    assert from_csv.schema == result.table.schema
    assert str(from_csv.to_pylist()) == str(result.table.to_pylist())  # NaN == NaN as text
    from_parquet = pq.read_table(folder / "data.parquet")
    assert str(from_parquet.to_pylist()) == str(result.table.to_pylist())
    stored = json.loads(from_parquet.schema.metadata[delivery.SCHEMA_KEY])
    assert stored == result.schema


def test_codebook_mentions_every_variable(folder: Path, result: Result) -> None:
    text = (folder / "codebook.md").read_text()
    for name in result.table.column_names:
        assert f"`{name}`" in text
    assert "Mini-Mental State Examination" in text
    assert "`AD` Alzheimer's disease" in text
    assert "`-99`" in text
    assert "z-score of mmse within each site" in text
    assert "| `" in text and "points" in text
    if result.spec.layout == "long":
        # mmse: 6 values, one of which is -99 (missing): 5 of 7 rows
        assert "| `mmse` | Mini-Mental State Examination | integer | points | 5 of 7 |" in text


def test_provenance_names_spec_sources_and_checksums(folder: Path, result: Result) -> None:
    manifest = json.loads((folder / "provenance.json").read_text())
    assert manifest["project"] == "alpha" and manifest["approval"] == "GA-2026-04"
    assert manifest["spec"] == result.spec.to_dict()
    assert manifest["spec"]["sources"][0]["checksum"] == "a" * 64
    assert set(manifest["files"]) == {"data.csv", "data.parquet", "datapackage.json",
                                      "codebook.md"}  # fmt: skip
    for name, described in manifest["files"].items():
        assert described["sha256"] == sha256(folder / name)
        assert described["bytes"] == (folder / name).stat().st_size
    assert manifest["rows"] == result.table.num_rows
    assert manifest["notes"] == [n.to_dict() for n in result.notes]


def test_an_existing_folder_is_refused(result: Result, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(FileExistsError):
        write_delivery(result, tmp_path / "out", provenance={})


@pytest.mark.parametrize("failing", ["codebook", "write_parquet", "datapackage"])
def test_a_failure_mid_write_leaves_nothing(
    result: Result, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(delivery, failing, fail)
    with pytest.raises(OSError, match="disk full"):
        write_delivery(result, tmp_path / "out", provenance={})
    assert list(tmp_path.iterdir()) == []


# --- diff -------------------------------------------------------------------------------------


def test_diff_of_two_deliveries(result: Result) -> None:
    old = result.table
    assert delivery_diff(old, old).empty
    column = "mmse" if "mmse" in old.column_names else "mmse__baseline"
    values = old[column].to_pylist()
    values[0] = 21
    new = old.set_column(old.column_names.index(column), column, pa.array(values, pa.int64()))
    new = new.slice(0, new.num_rows - 1)
    found = delivery_diff(old, new)
    assert found.totals["cells_changed"] == 1
    assert found.totals["rows_removed"] == 1
    (change,) = found.changes.to_pylist()
    assert change["column"] == column and change["old"] == "20" and change["new"] == "21"


def test_diff_qualifies_subjects_that_two_sites_share() -> None:
    def table(values: list[int]) -> pa.Table:
        return pa.table(
            {"site": ["a", "b"], "subject_id": ["S1", "S1"], "timepoint": ["t", "t"],
             "x": values}
        )  # fmt: skip

    found = delivery_diff(table([1, 2]), table([1, 3]))
    (change,) = found.changes.to_pylist()
    assert change["subject_id"] == "b/S1"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_value_counts_leave_out_missing_codes(result: Result) -> None:
    from cohortvault.extraction.codebook import value_counts

    counts = value_counts(result)
    for name in result.table.column_names:
        assert 0 <= counts[name] <= result.table.num_rows - result.table[name].null_count
    if result.spec.layout == "long":
        assert counts["mmse"] == result.table.num_rows - 2
        assert counts["diagnosis"] == 6  # one -99
        assert counts["site"] == int(pc.count(result.table["site"]).as_py())


@pytest.mark.parametrize("layout", ["long", "wide"])
def test_a_delivery_without_rows_is_still_valid(
    dictionary: Dictionary,
    tables: dict[tuple[str, str], pa.Table],
    tmp_path: Path,
    layout: str,
) -> None:
    spec = make_spec(transforms=TRANSFORMS, timepoints=("fu9",), layout=layout)
    result = extract(spec, tables, dictionary)
    assert result.table.num_rows == 0
    assert [f["name"] for f in result.schema["fields"]] == result.table.column_names
    write_delivery(result, tmp_path / "empty", provenance={})
    report = frictionless.validate(str(tmp_path / "empty" / "datapackage.json"))
    assert report.valid, report.flatten(["type", "message"])
