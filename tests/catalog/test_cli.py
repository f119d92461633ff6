"""``cohortvault dictionary …`` run as a real process on a fresh demo instance, the way the
data manager runs it on the server."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import openpyxl
import pytest

from tests.commands import cohortvault


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("dictionary-demo") / "instance"
    result = cohortvault("demo", "--data-dir", data_dir)
    assert result.returncode == 0, result.stderr
    return data_dir


@pytest.fixture
def instance(demo_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the demo instance, for a test that changes the dictionary."""
    copy = tmp_path / "copy"
    shutil.copytree(demo_dir, copy)
    return copy


def run(data_dir: Path, *args: str | Path) -> tuple[int, str, str]:
    result = cohortvault("dictionary", *args, "--data-dir", data_dir)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout, result.stderr


def test_the_demo_has_version_one_by_the_data_manager(demo_dir: Path) -> None:
    code, out, _ = run(demo_dir, "log")
    assert code == 0
    first = out.splitlines()[0].split()
    assert (first[0], first[3], first[4], first[6:8]) == (
        "1",
        "dm-anna",
        "51",
        ["first", "version"],
    )
    assert "Harmonized variables agreed" in out


def test_show_lists_the_variables_by_domain(demo_dir: Path) -> None:
    code, out, _ = run(demo_dir, "show")
    assert code == 0
    assert out.startswith("Data dictionary version 1: 51 variables, imported by dm-anna")
    for domain in ("identifiers", "demographics", "clinical", "cognition", "mri-derived"):
        assert f"\n[{domain}]\n" in out
    mmse = next(line for line in out.splitlines() if line.strip().startswith("mmse "))
    assert "integer points" in mmse and "Mini-Mental State Examination" in mmse
    assert mmse.rstrip().endswith("0–30")


def test_export_in_every_format(demo_dir: Path, tmp_path: Path) -> None:
    code, out, _ = run(demo_dir, "export")
    assert code == 0
    schema = json.loads(out)
    assert len(schema["fields"]) == 51 and schema["cohortvault"] == {"dictionaryVersion": 1}
    code, out, _ = run(demo_dir, "export", "--format", "csv", "--version", "1")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["name"] for r in rows[:3]] == ["subject_id", "timepoint", "site"]
    target = tmp_path / "dictionary.xlsx"
    code, _, err = run(demo_dir, "export", "--format", "xlsx", "-o", target)
    assert code == 0 and f"Wrote {target}" in err
    sheet = openpyxl.load_workbook(target)["dictionary"]
    assert sheet["A2"].value == "subject_id"
    code, _, err = run(demo_dir, "export", "--version", "9")
    assert code == 1 and "The data dictionary has no version 9." in err


def test_import_a_changed_spreadsheet_then_log_and_diff(instance: Path, tmp_path: Path) -> None:
    exported = tmp_path / "v1.csv"
    run(instance, "export", "--format", "csv", "-o", exported)
    text = exported.read_text().replace("Mini-Mental State Examination", "MMSE total score")
    text += "gait_speed,number,Gait speed,Usual pace over 4 m,m/s,clinical,ordinary,false,0,3\n"
    changed = tmp_path / "v2.csv"
    changed.write_text(text)
    code, out, err = run(
        instance, "import", changed, "--as", "dm-anna", "--note", "gait speed added"
    )
    assert code == 0, err
    assert out.strip() == (
        "Stored version 2 (52 variables) and published it to logs/data-dictionary/."
    )
    code, out, _ = run(instance, "log")
    assert out.splitlines()[0].split()[3:] == [
        "dm-anna",
        "52",
        "variables",
        "1",
        "added,",
        "1",
        "changed",
    ]
    code, out, _ = run(instance, "diff", "1", "2")
    assert out.splitlines() == [
        "Version 1 → 2: 1 added, 1 changed",
        "+ gait_speed  Gait speed",
        "~ mmse",
        "    label: Mini-Mental State Examination → MMSE total score",
    ]
    listing = cohortvault("audit", "verify", "--data-dir", instance)
    assert listing.returncode == 0, listing.stderr


def test_an_invalid_file_lists_every_problem_and_stores_nothing(
    instance: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("name,type,minimum,maximum\nsubject_id,string,,\nmmse,integer,40,30\n")
    code, out, err = run(instance, "import", bad, "--as", "dm-anna")
    assert code == 1 and out == ""
    assert "  row 3, mmse, minimum: 40 is greater than the maximum 30" in err
    assert "  timepoint: The identifier column timepoint must be defined." in err
    assert "Error: The dictionary has 5 problems; nothing was stored." in err
    assert run(instance, "log")[1].count(" variables  ") == 1


def test_only_a_data_manager_may_import(instance: Path, tmp_path: Path) -> None:
    exported = tmp_path / "v1.json"
    run(instance, "export", "-o", exported)
    exported.write_text(exported.read_text().replace('"Sex"', '"Sex at birth"'))
    code, _, err = run(instance, "import", exported, "--as", "oslo-kari")
    assert code == 1
    assert "Only the data manager changes the data dictionary" in err
    code, _, err = run(instance, "import", exported, "--as", "nobody")
    assert code == 1 and "there is no active user 'nobody'" in err
    code, _, err = run(instance, "import", exported)
    assert code == 2 and "Missing option '--as'" in err
    code, _, err = run(instance, "import", exported, "--as", "dm-backup")
    assert code == 0, err


def test_publish_again(instance: Path) -> None:
    code, out, _ = run(instance, "publish", "--as", "dm-anna")
    assert code == 0
    assert out.splitlines() == [
        "wrote logs/data-dictionary/data-dictionary.json",
        "wrote logs/data-dictionary/data-dictionary.csv",
        "wrote logs/data-dictionary/data-dictionary.xlsx",
        "wrote logs/data-dictionary/data-dictionary.md",
    ]
