"""Delimited text: encodings, delimiters, structure, and every kind of malformed file giving a
finding and no table."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import pyarrow as pa
import pytest

from cohortvault.quality import read, textscan
from cohortvault.quality.tables import Limits
from tests.quality.helpers import table


def values(text: str | bytes, name: str = "data.csv") -> list[dict[str, str | None]]:
    result = table(text, name)
    assert result.data is not None, [f.message for f in result.findings]
    return list(result.data.to_pylist())


def refused(
    text: str | bytes, check: str, name: str = "data.csv", limits: Limits | None = None
) -> str:
    result = table(text, name, limits)
    assert result.data is None and not result.readable
    found = [f for f in result.findings if f.check == check]
    assert found and found[0].severity == "error", [(f.check, f.message) for f in result.findings]
    return found[0].message


# --- encodings ---------------------------------------------------------------------------------

NORDIC = "navn;by\nKåre Ødegård;Tromsø\nÆsa;Malmö\n"


@pytest.mark.parametrize(
    "encoding,reported",
    [
        ("utf-8", "UTF-8"),
        ("utf-8-sig", "UTF-8 (with byte-order mark)"),
        ("utf-16", "UTF-16LE"),
        ("utf-16-be", "UTF-16BE"),
        ("utf-16-le", "UTF-16LE"),
        ("cp1252", "Windows-1252"),
    ],
)
def test_encodings_are_detected_reported_and_decoded(encoding: str, reported: str) -> None:
    data = NORDIC.encode(encoding)
    if encoding == "utf-16-be":
        data = "\ufeff".encode("utf-16-be") + data
    result = table(data)
    assert result.detected.encoding == reported
    assert result.data is not None
    assert result.data.to_pylist()[0] == {"navn": "Kåre Ødegård", "by": "Tromsø"}


def test_single_byte_files_get_a_warning_naming_their_letters() -> None:
    result = table(NORDIC.encode("latin-1"))
    warnings = [f for f in result.findings if f.check == "read.encoding"]
    assert warnings and warnings[0].severity == "warning"
    assert "å" in warnings[0].message and "first at line 2" in warnings[0].message


def test_latin1_control_range_bytes_choose_latin1() -> None:
    data = "a;b\nx\x81y;1\n".encode("latin-1")
    assert table(data).detected.encoding == "ISO-8859-1 (Latin-1)"


def test_mixed_encodings_are_refused_with_their_lines() -> None:
    data = "a;b\nø;1\nå;2\n".encode() + "ø;3\n".encode("latin-1") + "æ;4\n".encode()
    message = refused(data, "read.encoding")
    assert "line 4" in message and "UTF-8" in message


def test_binary_garbage_is_refused() -> None:
    refused(bytes(range(256)) * 20, "read.binary")
    refused(b"a,b\n1,2\n" + bytes([0, 1, 2, 3]) * 50, "read.binary", "data.txt")


def test_a_few_control_characters_are_reported_with_their_line() -> None:
    message = refused(b"a,b\n1,2\n3,\x0c4\n", "read.binary")
    assert "line 3" in message


# --- delimiters and line ends ------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_detected(delimiter: str) -> None:
    text = delimiter.join(["a", "b", "c"]) + "\n" + delimiter.join(["1", "2,5", "x"]) + "\n"
    if delimiter == ",":
        text = 'a,b,c\n1,"2,5",x\n'
    result = table(text)
    assert result.detected.delimiter == delimiter
    assert values(text) == [{"a": "1", "b": "2,5", "c": "x"}]


def test_decimal_commas_do_not_fool_the_semicolon() -> None:
    text = "id;weight;height\n1;70,5;1,80\n2;80,0;1,75\n"
    assert table(text).detected.delimiter == ";"


def test_single_column_files() -> None:
    assert values("subject_id\nOSL-0001\nOSL-0002\n") == [
        {"subject_id": "OSL-0001"},
        {"subject_id": "OSL-0002"},
    ]


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_line_ends(eol: str) -> None:
    assert values(eol.join(["a,b", "1,2", "3,4", ""])) == [
        {"a": "1", "b": "2"},
        {"a": "3", "b": "4"},
    ]


def test_quoted_values_with_delimiters_quotes_and_line_breaks() -> None:
    text = 'a,b\n"x, y","say ""hi"""\n"two\nlines",z\n'
    assert values(text) == [{"a": "x, y", "b": 'say "hi"'}, {"a": "two\nlines", "b": "z"}]


def test_the_table_is_a_polars_frame_and_arrow_string_views() -> None:
    result = table("a,b\n1,\n,x y\n")
    assert result.frame is not None and result.data is not None
    assert result.data.schema.types == [pa.string_view(), pa.string_view()]
    expected = [{"a": "1", "b": None}, {"a": None, "b": "x y"}]
    assert result.frame.to_dicts() == result.data.to_pylist() == expected


def test_empty_cells_are_nulls_and_spaces_are_values() -> None:
    assert values('a,b,c\n,"", \n') == [{"a": None, "b": None, "c": " "}]


# --- structure ---------------------------------------------------------------------------------


def test_ragged_rows_give_their_line_numbers() -> None:
    lines = ["a,b,c"] + ["1,2,3"] * 3 + ["1,2"] + ["1,2,3"] * 2 + ["1,2,3,4"] + ["1,2,3"]
    message = refused("\n".join(lines) + "\n", "read.ragged-rows")
    assert "line 5 has 2" in message and "line 8 has 4" in message and "header's 3" in message


def test_only_the_first_ragged_rows_are_listed() -> None:
    lines = ["a,b,c"] + ["1,2"] * 20
    result = table("\n".join(lines) + "\n")
    finding = result.findings[0]
    assert finding.rows == 20 and "(20 rows in all)" in finding.message
    assert finding.message.count("line ") == textscan.SHOWN


def test_duplicate_headers_are_refused() -> None:
    message = refused("age,sex,age\n1,F,2\n", "read.header")
    assert "'age' (columns 1, 3)" in message


def test_an_unnamed_column_with_values_is_refused() -> None:
    assert "Column 2" in refused("a,,c\n1,2,3\n", "read.header")


def test_an_unnamed_empty_column_is_dropped_with_a_warning() -> None:
    result = table("a,b,\n1,2,\n3,4,\n")
    assert result.names == ["a", "b"]
    assert [f.check for f in result.findings] == ["read.header"]


def test_headers_are_trimmed_of_spaces_and_invisible_marks() -> None:
    assert table(" age ,\u200bsex\n1,F\n").names == ["age", "sex"]


@pytest.mark.parametrize("text", ["", "   \n\n", "\r\n"])
def test_empty_files(text: str) -> None:
    refused(text, "read.empty")


def test_header_only() -> None:
    refused("a,b,c\n", "read.no-rows")


def test_a_blank_first_line() -> None:
    refused("\na,b\n1,2\n", "read.header")


def test_unclosed_quote() -> None:
    assert "line 3" in refused('a,b\n1,2\n3,"four\n5,6\n', "read.malformed")


def test_blank_lines_inside_are_reported_and_trailing_ones_ignored() -> None:
    result = table("a,b\n1,2\n\n3,4\n\n\n")
    assert result.data is not None and result.rows == 3
    assert [f.check for f in result.findings] == ["read.empty-rows"]
    assert "row 3" in result.findings[0].message


def test_too_many_columns_and_rows() -> None:
    refused("a,b,c\n1,2,3\n", "read.too-large", limits=Limits(max_columns=2))
    refused("a\n1\n2\n3\n", "read.too-large", limits=Limits(max_rows=2))


# --- the structure scan against Python's csv module, across chunk boundaries ---------------------


def _reference(text: str) -> tuple[int, list[int]]:
    records = list(csv.reader(io.StringIO(text, newline="")))
    header = len(records[0])
    bad = [k for k, r in enumerate(records) if r and len(r) != header]
    return len(records), bad


@pytest.mark.parametrize("chunk", [7, 16, 64, 4096])
@pytest.mark.parametrize("seed", range(6))
def test_scan_agrees_with_the_csv_module_at_any_chunk_size(
    chunk: int, seed: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    rng = random.Random(seed)
    lines = ["a,b,c"]
    for _ in range(60):
        fields = [
            rng.choice(["1", "x y", '"q,1"', '"two\nlines"', '""', '"a""b"']) for _ in range(3)
        ]
        if rng.random() < 0.05:
            fields = fields[: rng.choice([1, 2])] + (["e"] * rng.choice([0, 2]))
        lines.append(",".join(fields))
    text = "\n".join(lines) + "\n"
    path = tmp_path / "x.csv"
    path.write_text(text)
    monkeypatch.setattr(textscan, "CHUNK", chunk)
    for precise in (False, True):
        shape = textscan.scan(path, delimiter=",", eol="\n", check_utf8=True, precise=precise)
        records, bad = _reference(text)
        assert shape.records == records
        assert shape.ragged_count == len(bad)


def test_a_large_regular_file_takes_the_fast_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n" + "1,2\n" * 5000 + "3\n" + "1,2\n" * 5000)
    monkeypatch.setattr(textscan, "CHUNK", 1000)
    shape = textscan.scan(path, delimiter=",", eol="\n", check_utf8=True)
    assert shape.records == 10002 and shape.ragged == [(5002, 1)]


def test_read_from_a_path_and_a_stream_agree(tmp_path: Path) -> None:
    path = tmp_path / "x.tsv"
    path.write_bytes(b"a\tb\n1\t2\n")
    with path.open("rb") as stream:
        from_stream = read(stream, "x.tsv")
    from_path = read(path, "x.tsv")
    assert from_stream.data is not None and from_path.data is not None
    assert from_stream.data.to_pylist() == from_path.data.to_pylist()
    assert from_stream.detected.delimiter == "\t"
