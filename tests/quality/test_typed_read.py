"""The number columns of a CSV read as numbers (as imports are checked) give the same report as
the file read as text, whatever the cells, the quoting, the line ends and the chunking of the
scan; the cells whose text matters are kept, and the typed read gives way when it must."""

from __future__ import annotations

import io
import random

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohortvault.quality import check, numbers_of, read, textscan, typed
from tests.quality.helpers import (
    SITE,
    TIMEPOINTS,
    T,
    Variable,
    comparable,
    dictionary,
    report,
    table,
)

VARIABLES = (
    Variable("score", T.INTEGER, minimum=0, maximum=30),
    Variable("volume", T.NUMBER, minimum=1, maximum=5000),
    Variable("group", T.INTEGER, categories={"1": "a", "2": "b"}),
    Variable("note", T.STRING),
)
TRICKY = [
    "",
    "7",
    "31",
    "-1",
    "+5",
    "1e3",
    ".5",
    "5.",
    " 10",
    "\t10",
    "10 ",
    "1,5",
    "12a",
    "nan",
    "inf",
    "-inf",
    "-99",
    "-99.0",
    "=1+1",
    "@x",
    "01017012345",
    "15076500565",
    "-123456789",
    "99999999999999999999",
    "kari@example.org",
    '"',
    "a b",
]


def csv_text(cells: list[list[str]], *, delimiter: str = ",", eol: str = "\n") -> str:
    """Identifier columns, then the cells; a cell that needs quotes gets them."""

    def quoted(cell: str) -> str:
        needs = any(c in cell for c in (delimiter, '"', "\n", "\r"))
        return '"' + cell.replace('"', '""') + '"' if needs else cell

    header = delimiter.join(["subject_id", "timepoint", "site", "score", "volume", "group", "note"])
    lines = [header]
    for k, row in enumerate(cells):
        lines.append(delimiter.join([f"OSL-{k + 1:04d}", "t0", SITE, *map(quoted, row)]))
    return eol.join(lines) + eol


def both(text: str) -> tuple[dict[str, object], dict[str, object]]:
    schema = dictionary(*VARIABLES)
    reports = [
        comparable(
            check(
                table(text, numbers=numbers),
                schema,
                site=SITE,
                known_timepoints=TIMEPOINTS,
            )
        )
        for numbers in (None, schema)
    ]
    return reports[0], reports[1]


ROWS = st.lists(st.lists(st.sampled_from(TRICKY), min_size=4, max_size=4), min_size=1, max_size=40)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cells=ROWS,
    delimiter=st.sampled_from([",", ";", "\t"]),
    eol=st.sampled_from(["\n", "\r\n"]),
    chunk=st.sampled_from([64, 97, 256, 1 << 18]),
)
def test_typed_and_text_reads_give_the_same_report(
    cells: list[list[str]], delimiter: str, eol: str, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(textscan, "CHUNK", chunk)  # groups of a few records: many boundaries
    text = csv_text(cells, delimiter=delimiter, eol=eol)
    read_as_numbers = table(text, numbers=dictionary(*VARIABLES))
    assert set(read_as_numbers.texts) == {"score", "volume", "group"}  # no fallback to text
    as_text, as_numbers = both(text)
    assert as_numbers == as_text


def test_cells_that_are_not_numbers_are_found_in_counted_chunks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(textscan, "CHUNK", 4096)
    rng = random.Random(5)
    cells = [
        [str(rng.randint(0, 30)), f"{rng.uniform(1, 5000):.2f}", "1", "ok"] for _ in range(3000)
    ]
    cells[1234][0] = "12a"  # unquoted: the scan counts its chunk, and the counts disagree
    cells[2345][1] = " 17"  # a leading space: its chunk is read again
    cells[2999][1] = "01017012345"  # a big number: its text is kept, leading zero and all
    text = csv_text(cells)
    read_as_numbers = table(text, numbers=dictionary(*VARIABLES))
    assert read_as_numbers.frame is not None
    assert read_as_numbers.frame.schema["score"].is_integer()
    texts = {name: dict(cells.iter_rows()) for name, cells in read_as_numbers.texts.items()}
    assert texts["score"] == {1234: "12a"}
    assert texts["volume"] == {2345: " 17", 2999: "01017012345"}
    as_text, as_numbers = both(text)
    assert as_numbers == as_text
    kinds = {(f["check"], f["column"], f["row"]) for f in as_text["findings"]}  # type: ignore[index, union-attr]
    assert ("type", "score", 1236) in kinds
    assert ("type", "volume", 2347) in kinds


def test_a_fodselsnummer_in_a_number_column_is_screened_from_its_text() -> None:
    text = csv_text([["5", "100", "1", ""], ["6", "15076500565", "2", ""]])
    result = report(text, *VARIABLES)  # asserts the two reads agree
    personal = [f for f in result.findings if f.check.startswith("personal-data")]
    assert any(f.column == "volume" and f.row == 3 for f in personal)


def test_too_many_records_to_read_again_gives_way_to_the_text_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(typed, "MAX_REREAD", 5)
    monkeypatch.setattr(textscan, "CHUNK", 64)
    text = csv_text([["1,5", "2,5", "1", "x"] for _ in range(50)], delimiter=";")
    read_as_numbers = table(text, numbers=dictionary(*VARIABLES))
    assert read_as_numbers.texts == {}
    assert read_as_numbers.frame is not None
    assert read_as_numbers.frame.schema["score"] == pl.String
    as_text, as_numbers = both(text)
    assert as_numbers == as_text


def test_a_table_with_numbers_has_no_data_for_datasets() -> None:
    read_as_numbers = table(csv_text([["1", "2", "1", "x"]]), numbers=dictionary(*VARIABLES))
    assert read_as_numbers.texts
    with pytest.raises(ValueError, match="quality control only"):
        read_as_numbers.data  # noqa: B018


def test_only_numbers_without_text_codes_are_read_as_numbers() -> None:
    schema = dictionary(
        Variable("a", T.INTEGER),
        Variable("b", T.NUMBER, missing_values=("NA",)),
        Variable("c", T.STRING),
        Variable("d", T.INTEGER, identifier=True),
    )
    assert set(numbers_of(schema)) == {"a"}


def test_a_transcoded_file_is_read_as_text() -> None:
    text = csv_text([["1", "2", "1", "Grüße"]])
    result = read(
        io.BytesIO(text.encode("cp1252")), "data.csv", numbers=numbers_of(dictionary(*VARIABLES))
    )
    assert result.frame is not None and result.texts == {}
    assert result.frame.schema["score"] == pl.String


def _lines(first: int, last: int, cells: str = "1,2,1,x") -> str:
    return "".join(f"OSL-{k:04d},t0,{SITE},{cells}\n" for k in range(first, last))


HEADER = "subject_id,timepoint,site,score,volume,group,note\n"
MALFORMED = {
    "a short and a long row in one chunk": HEADER
    + _lines(1, 30)
    + "OSL-0100,t0,oslo,1\nOSL-0101,t0,oslo,1,2,1,x,9\n"
    + _lines(200, 230),
    "a blank line": HEADER + _lines(1, 30) + "\n" + _lines(200, 230),
    "a row of empty fields": HEADER + _lines(1, 30) + ",,,,,,\n" + _lines(200, 230),
    "a row of nothing but cells that are not numbers": HEADER + ",,,x,y,z,\n" + _lines(1, 30),
    "an unclosed quote": HEADER + _lines(1, 30) + 'OSL-0100,t0,oslo,"1,2,1,x\n',
    "a quote inside a value": HEADER + _lines(1, 30) + 'OSL-0100,t0,oslo,1"2,2,1,x\n',
    "no line end at the end": HEADER + _lines(1, 30) + "OSL-0100,t0,oslo,1,2,1,",
    "a header only": HEADER,
}


@pytest.mark.parametrize("chunk", [40, 100, 1 << 18])
@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_files_get_the_same_findings(
    case: str, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(textscan, "CHUNK", chunk)
    data = MALFORMED[case].encode()
    as_text = read(io.BytesIO(data), "data.csv")
    as_numbers = read(io.BytesIO(data), "data.csv", numbers=numbers_of(dictionary(*VARIABLES)))
    assert as_numbers.findings == as_text.findings
    assert (as_numbers.frame is None) == (as_text.frame is None)
    if as_text.frame is not None:
        assert as_numbers.frame is not None and as_numbers.frame.height == as_text.frame.height
