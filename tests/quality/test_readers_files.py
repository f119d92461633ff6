"""XLSX, SPSS, Stata and R files, written here with openpyxl, pyreadstat and pyreadr, and their
malformed variants: each gives a finding and no table, never an exception."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import os
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pyreadr
import pyreadstat
import pytest

from cohortvault.quality import read
from cohortvault.quality.tables import MIB, Limits, Table


def checks(result: Table) -> list[str]:
    return [f.check for f in result.findings]


def only_error(result: Table, check: str) -> str:
    assert result.data is None, "a refused file must give no table"
    errors = [f for f in result.findings if f.severity == "error"]
    assert [f.check for f in errors] == [check], [(f.check, f.message) for f in result.findings]
    return errors[0].message


def _workbook(path: Path, rows: list[list[object]], *, title: str = "Data") -> openpyxl.Workbook:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return workbook


# --- XLSX --------------------------------------------------------------------------------------


def test_xlsx_values_as_a_spreadsheet_shows_them(tmp_path: Path) -> None:
    path = tmp_path / "visit.xlsx"
    _workbook(
        path,
        [
            ["subject_id", "age", "visit", "score", "smoker", "note"],
            ["OSL-0001", 50, dt.datetime(2020, 1, 5), 0.1 + 0.2, True, "  "],
            ["OSL-0002", 51.0, dt.date(2021, 3, 7), 1e-5, False, None],
        ],
    )
    result = read(path, "visit.xlsx")
    assert result.detected.format == "xlsx" and result.detected.sheet == "Data"
    assert result.data is not None
    assert result.data.to_pylist() == [
        {
            "subject_id": "OSL-0001",
            "age": "50",
            "visit": "2020-01-05",
            "score": "0.3",
            "smoker": "true",
            "note": None,
        },
        {
            "subject_id": "OSL-0002",
            "age": "51",
            "visit": "2021-03-07",
            "score": "1e-05",
            "smoker": "false",
            "note": None,
        },
    ]


def test_xlsx_formulas_are_reported_and_never_calculated(tmp_path: Path) -> None:
    path = tmp_path / "f.xlsx"
    _workbook(
        path,
        [
            ["subject_id", "score"],
            ["OSL-0001", 10],
            ["OSL-0002", "=B2*2"],
            ["OSL-0003", "=SUM(B2:B3)"],
        ],
    )
    result = read(path, "f.xlsx")
    assert result.data is not None
    assert result.data.column("score").to_pylist() == ["10", "=B2*2", "=SUM(B2:B3)"]
    found = [f for f in result.findings if f.check == "read.formula"]
    assert found[0].severity == "error" and found[0].rows == 2 and found[0].column == "score"
    assert "B3: =B2*2" in found[0].example


def test_xlsx_merged_cells_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "m.xlsx"
    workbook = _workbook(path, [["subject_id", "group"], ["OSL-0001", "A"], ["OSL-0002", None]])
    workbook.active.merge_cells("B2:B3")
    workbook.save(path)
    result = read(path, "m.xlsx")
    found = [f for f in result.findings if f.check == "read.merged-cells"]
    assert found and found[0].example == "B2:B3" and found[0].severity == "error"


def test_xlsx_sheet_named_like_the_study_is_chosen(tmp_path: Path) -> None:
    path = tmp_path / "s.xlsx"
    workbook = _workbook(path, [["x"], ["1"]], title="Notes")
    other = workbook.create_sheet("HUNT-4")
    other.append(["subject_id"])
    other.append(["OSL-0001"])
    workbook.save(path)
    result = read(path, "s.xlsx", study="hunt 4")
    assert result.detected.sheet == "HUNT-4" and result.names == ["subject_id"]
    assert "read.sheets" in checks(result)
    assert read(path, "s.xlsx").detected.sheet == "Notes"


def test_xlsx_values_right_of_the_header_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "o.xlsx"
    _workbook(path, [["a", "b"], [1, 2, 3]])
    assert "C2" in only_error(read(path, "o.xlsx"), "read.header")


def test_xlsx_empty_sheet(tmp_path: Path) -> None:
    path = tmp_path / "e.xlsx"
    _workbook(path, [])
    only_error(read(path, "e.xlsx"), "read.empty")


def test_xlsx_title_rows_above_the_header_are_skipped_when_empty(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    _workbook(path, [[None], [None], ["a", "b"], [1, 2]])
    assert read(path, "t.xlsx").names == ["a", "b"]


def test_a_truncated_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    _workbook(path, [["a"], [1]] * 50)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    only_error(read(path, "t.xlsx"), "read.unreadable")


def test_a_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "z.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert "not an Excel workbook" in only_error(read(path, "z.xlsx"), "read.unreadable")


def _bomb(path: Path, size: int, members: int = 1) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        block = b"\0" * MIB
        for k in range(members):
            with archive.open(f"xl/worksheets/sheet{k + 1}.xml", "w", force_zip64=True) as out:
                for _ in range(size // MIB):
                    out.write(block)


def test_a_zip_bomb_disguised_as_xlsx_is_refused_unopened(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    _bomb(path, 64 * MIB)
    assert path.stat().st_size < MIB
    message = only_error(read(path, "bomb.xlsx"), "read.zip-bomb")
    assert "compressed" in message


def test_a_zip_bomb_by_total_size(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    _bomb(path, 8 * MIB, members=4)
    limits = Limits(max_unpacked_bytes=16 * MIB, max_compression_ratio=1e9)
    assert "unpacks to" in only_error(read(path, "bomb.xlsx", limits=limits), "read.zip-bomb")


def test_a_zip_with_too_many_members(tmp_path: Path) -> None:
    path = tmp_path / "many.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        for k in range(30):
            archive.writestr(f"x{k}", "")
    assert "parts" in only_error(
        read(path, "many.xlsx", limits=Limits(max_zip_members=20)), "read.zip-bomb"
    )


def test_xlsx_row_and_column_limits(tmp_path: Path) -> None:
    path = tmp_path / "big.xlsx"
    _workbook(path, [["a", "b", "c"]] + [[1, 2, 3]] * 10)
    only_error(read(path, "big.xlsx", limits=Limits(max_rows=5)), "read.too-large")
    only_error(read(path, "big.xlsx", limits=Limits(max_columns=2)), "read.too-large")


# --- SPSS, Stata, R ------------------------------------------------------------------------------

FRAME = pl.DataFrame(
    {
        "subject_id": ["OSL-0001", "OSL-0002", None],
        "age": [50.0, 61.5, None],
        "group": [1.0, 2.0, 9.0],
        "visit": [dt.date(2020, 1, 5), None, dt.date(1999, 12, 31)],
    }
)
EXPECTED = [
    {"subject_id": "OSL-0001", "age": "50", "group": "1", "visit": "2020-01-05"},
    {"subject_id": "OSL-0002", "age": "61.5", "group": "2", "visit": None},
    {"subject_id": None, "age": None, "group": "9", "visit": "1999-12-31"},
]


def test_spss_values_labels_and_missing_codes(tmp_path: Path) -> None:
    path = tmp_path / "d.sav"
    pyreadstat.write_sav(
        FRAME,
        path,
        column_labels={"age": "Age in years"},
        variable_value_labels={"group": {1: "control", 2: "case"}},
        missing_ranges={"group": [9]},
    )
    result = read(path, "d.sav")
    assert result.data is not None and result.data.to_pylist() == EXPECTED
    assert result.detected.value_labels == {"group": {"1": "control", "2": "case"}}
    assert result.detected.variable_labels == {"age": "Age in years"}
    assert result.detected.missing_codes == {"group": ("9",)}


def test_stata_values(tmp_path: Path) -> None:
    path = tmp_path / "d.dta"
    pyreadstat.write_dta(FRAME, path, variable_value_labels={"group": {1: "control"}})
    result = read(path, "d.dta")
    assert result.detected.format == "dta"
    assert result.data is not None and result.data.to_pylist() == EXPECTED
    assert result.detected.value_labels["group"] == {"1": "control"}


@pytest.mark.parametrize("compress", [None, "gzip"])
def test_r_data_frames(tmp_path: Path, compress: str | None) -> None:
    path = tmp_path / "d.rds"
    pyreadr.write_rds(path, FRAME, compress=compress)
    result = read(path, "d.rds")
    assert result.detected.format == "rds"
    assert result.data is not None and result.data.to_pylist() == EXPECTED


@pytest.mark.parametrize(
    "name,writer",
    [
        ("d.sav", lambda p: pyreadstat.write_sav(FRAME, p)),
        ("d.dta", lambda p: pyreadstat.write_dta(FRAME, p)),
        ("d.rds", lambda p: pyreadr.write_rds(p, FRAME)),
        ("c.rds", lambda p: pyreadr.write_rds(p, FRAME, compress="gzip")),
    ],
)
def test_truncated_statistics_files(tmp_path: Path, name: str, writer: object) -> None:
    path = tmp_path / name
    writer(path)  # type: ignore[operator]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    only_error(read(path, name), "read.unreadable")


@pytest.mark.parametrize("name", ["g.sav", "g.dta", "g.rds", "g.xlsx"])
def test_garbage_named_like_a_statistics_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(os.urandom(2000))
    result = read(path, name)
    assert result.data is None
    assert [f.severity for f in result.findings] == ["error"]


def test_a_gzip_bomb_disguised_as_rds(tmp_path: Path) -> None:
    path = tmp_path / "bomb.rds"
    with gzip.open(path, "wb", compresslevel=9) as out:
        block = b"\0" * MIB
        for _ in range(40):
            out.write(block)
    limits = Limits(max_unpacked_bytes=8 * MIB)
    only_error(read(path, "bomb.rds", limits=limits), "read.zip-bomb")


# --- formats by content --------------------------------------------------------------------------


def test_an_xlsx_named_csv_is_read_as_xlsx_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    _workbook(path, [["a"], [1]])
    result = read(io.BytesIO(path.read_bytes()), "x.csv")
    assert result.detected.format == "xlsx" and result.data is not None
    assert result.findings[0].check == "read.format" and result.findings[0].severity == "warning"


@pytest.mark.parametrize(
    "head,name,text",
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "old.xls", ".xls"),
        (b"%PDF-1.7\n" + b"x" * 100, "report.pdf", "PDF"),
        (gzip.compress(b"a,b\n1,2\n"), "data.csv.gz", "compressed"),
        (b"RDX3\nX\n" + b"\0" * 50, "ws.RData", "saveRDS"),
    ],
)
def test_formats_that_are_refused(head: bytes, name: str, text: str) -> None:
    message = only_error(read(io.BytesIO(head), name), "read.format")
    assert text in message


def test_unknown_binary_types_are_refused() -> None:
    only_error(read(io.BytesIO(b"\x7fELF\x02\x01" + bytes(100)), "program"), "read.format")


# --- size ----------------------------------------------------------------------------------------


def test_a_2_gb_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:  # sparse: nothing is written but the size
        handle.truncate(2 * 1024 * MIB)
    only_error(read(path, "huge.csv"), "read.too-large")
    with path.open("rb") as stream:  # a stream that knows its size is refused unread
        only_error(read(stream, "huge.csv"), "read.too-large")
        assert stream.tell() == 0


class Endless(io.RawIOBase):
    """A stream of unknown length that would give 2 GB; counts what was read of it."""

    def __init__(self) -> None:
        self.given = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.given >= 2 * 1024 * MIB:
            return 0
        n = len(buffer)
        buffer[:n] = b"1," * (n // 2) + b"1" * (n % 2)
        self.given += n
        return n


def test_a_stream_of_unknown_length_stops_at_the_limit() -> None:
    stream = Endless()
    result = read(io.BufferedReader(stream), "stream.csv", limits=Limits(max_bytes=4 * MIB))
    only_error(result, "read.too-large")
    assert stream.given <= 6 * MIB


def test_a_missing_path_is_a_finding(tmp_path: Path) -> None:
    only_error(read(tmp_path / "nowhere.csv", "nowhere.csv"), "read.failed")
