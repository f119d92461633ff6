"""JSON, CSV and XLSX: every format gives back the same dictionary, and spreadsheets never
execute what the dictionary says."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import string
import unicodedata
import zipfile

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohortvault.catalog import cells, formats, validation
from cohortvault.catalog.formats import Format
from cohortvault.catalog.schema import IDENTIFIERS, Dictionary, FieldType, Sensitivity, Variable
from cohortvault.errors import Invalid


def back(dictionary: Dictionary, format: Format) -> Dictionary:
    data = formats.write(dictionary, format)
    return validation.check(formats.read(data, format), version=dictionary.version)


# --- a strategy for valid dictionaries ------------------------------------------------------


def _clean(text: str) -> bool:
    return not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text)


def words(max_size: int, *, lines: bool = False, exclude: str = "") -> st.SearchStrategy[str]:
    alphabet = st.characters(
        exclude_categories=("Cc", "Cs"), include_characters="\n" if lines else "",
        exclude_characters=exclude,
    )  # fmt: skip
    return (
        st.text(alphabet, max_size=max_size)
        .map(str.strip)
        .filter(lambda t: len(t) <= max_size and _clean(t.replace("\n", "")))
    )


LEADS = st.sampled_from(["", "=", "+", "-", "@", "'", "'=", "=cmd|' /C calc'!A0 "])
LABELS = st.builds(lambda lead, text: (lead + text).strip(), LEADS, words(150))
CODES = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?", fullmatch=True)
MISSING = st.lists(st.sampled_from(["", "-99", "-88", "NA", "999", ".", "n/a"]), unique=True)
PATTERNS = st.sampled_from(["", "[A-Z]{3}-[0-9]{4}", "x|y", "=1+1", r"\d+(\.\d+)?", "[a-z]*"])


@st.composite
def variables(draw: st.DrawFn, name: str) -> Variable:
    kind = draw(st.sampled_from(list(FieldType)))
    minimum = maximum = None
    if kind is FieldType.INTEGER:
        bounds = st.one_of(st.none(), st.integers(-(10**9), 10**9).map(float))
        minimum, maximum = draw(bounds), draw(bounds)
    elif kind is FieldType.NUMBER:
        bounds = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False))
        minimum, maximum = draw(bounds), draw(bounds)
    if minimum is not None and maximum is not None and minimum > maximum:
        minimum, maximum = maximum, minimum
    categories: dict[str, str] = {}
    if kind is FieldType.STRING:
        printable = st.characters(
            exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp"), exclude_characters="=|"
        )
        codes = st.text(printable, min_size=1, max_size=20)
        labels = words(60, exclude="|")
        categories = draw(st.dictionaries(codes, labels, max_size=5))
    elif kind is FieldType.INTEGER:
        low = int(minimum) if minimum is not None else None
        high = int(maximum) if maximum is not None else None
        low = low if low is not None else (high - 50 if high is not None else -1000)
        high = high if high is not None else low + 50
        codes = st.integers(low, min(high, low + 50)).map(str)
        categories = draw(st.dictionaries(codes, words(60, exclude="|"), max_size=5))
    categories = {code: label or code for code, label in categories.items()}
    probe = Variable(name, kind, minimum=minimum, maximum=maximum)
    missing = tuple(
        code for code in draw(MISSING) if code not in categories and not _inside(code, probe)
    )
    return Variable(
        name=name,
        type=kind,
        label=draw(LABELS),
        description=draw(words(300, lines=True)),
        unit=draw(words(20)),
        domain=draw(words(30)),
        sensitivity=draw(st.sampled_from(list(Sensitivity))),
        required=draw(st.booleans()),
        minimum=minimum,
        maximum=maximum,
        pattern=draw(PATTERNS) if kind is FieldType.STRING else "",
        categories=categories,
        missing_values=missing,
        identifier=draw(st.booleans()),
        sites=tuple(draw(st.lists(CODES, unique=True, max_size=3))),
        timepoints=tuple(draw(st.lists(CODES, unique=True, max_size=3))),
    )


def _inside(code: str, v: Variable) -> bool:
    try:
        number = cells.parse_number(code) if code else None
    except ValueError:
        return False
    if number is None or v.type not in (FieldType.INTEGER, FieldType.NUMBER):
        return False
    if v.minimum is None and v.maximum is None:
        return False
    return (v.minimum is None or number >= v.minimum) and (v.maximum is None or number <= v.maximum)


@st.composite
def dictionaries(draw: st.DrawFn) -> Dictionary:
    names = draw(
        st.lists(
            st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True).filter(
                lambda n: n not in IDENTIFIERS
            ),
            unique_by=str.lower,
            max_size=6,
        )
    )
    identifiers = [
        dataclasses.replace(
            draw(variables(name)),
            type=FieldType.STRING,
            required=True,
            identifier=True,
            minimum=None,
            maximum=None,
            pattern="[A-Z]{3}-[0-9]{4}" if name == "subject_id" else "",
        )
        for name in IDENTIFIERS
    ]
    others = [draw(variables(name)) for name in names]
    ordered = draw(st.permutations([*identifiers, *others]))
    return Dictionary(version=draw(st.integers(1, 10_000)), variables=tuple(ordered))


ROUND_TRIPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@ROUND_TRIPS
@given(dictionaries())
def test_json_csv_json_gives_the_same_dictionary(dictionary: Dictionary) -> None:
    from_json = back(dictionary, Format.JSON)
    assert from_json == dictionary
    assert back(from_json, Format.CSV) == dictionary
    assert back(back(from_json, Format.CSV), Format.JSON) == dictionary


@ROUND_TRIPS
@given(dictionaries())
def test_json_xlsx_json_gives_the_same_dictionary(dictionary: Dictionary) -> None:
    assert back(back(dictionary, Format.XLSX), Format.JSON) == dictionary


@ROUND_TRIPS
@given(dictionaries())
def test_categories_keep_their_order(dictionary: Dictionary) -> None:
    for format in Format:
        again = back(dictionary, format)
        for before, after in zip(dictionary.variables, again.variables, strict=True):
            assert list(before.categories.items()) == list(after.categories.items())


def test_the_demo_dictionary_round_trips(demo: Dictionary) -> None:
    for format in Format:
        assert back(demo, format) == demo
    schema = json.loads(formats.write(demo, Format.JSON))
    assert schema["primaryKey"] == ["subject_id", "timepoint"]
    mmse = next(f for f in schema["fields"] if f["name"] == "mmse")
    assert mmse == {
        "name": "mmse",
        "type": "integer",
        "title": "Mini-Mental State Examination",
        "description": "Total score; higher is better.",
        "constraints": {"minimum": 0, "maximum": 30},
        "missingValues": ["", "-99", "-88"],
        "cohortvault": {"unit": "points", "domain": "cognition", "sensitivity": "ordinary"},
    }


# --- spreadsheets do not execute the dictionary ---------------------------------------------

RISKY = Variable(
    "note_var",
    FieldType.STRING,
    label='=HYPERLINK("http://evil.example","click")',
    description="+1+1",
    unit="@SUM(A1) _x0041_",
    domain="-2+3",
    categories={"a": "=cmd|' /C calc'!A0".replace("|", "/"), "b": "'quoted"},
    missing_values=("-99", "-x"),
)


def risky_dictionary(demo: Dictionary) -> Dictionary:
    return dataclasses.replace(demo, variables=(*demo.variables, RISKY))


def test_csv_cells_a_spreadsheet_would_execute_start_with_an_apostrophe(demo: Dictionary) -> None:
    data = formats.write(risky_dictionary(demo), Format.CSV)
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    row = rows[-1]
    assert row["label"] == '\'=HYPERLINK("http://evil.example","click")'
    assert row["description"] == "'+1+1"
    assert row["unit"] == "'@SUM(A1) _x0041_"
    assert row["domain"] == "'-2+3"
    assert row["categories"] == "a=\u003dcmd/' /C calc'!A0|b='quoted"
    assert row["missing_values"] == "'-99|-x"
    for cell in (c for r in rows for c in r.values()):
        assert not cells.is_risky(cell), cell
    mmse = next(r for r in rows if r["name"] == "age_at_visit")
    assert (mmse["minimum"], mmse["missing_values"]) == ("40", '""|-99|-88')
    assert back(risky_dictionary(demo), Format.CSV) == risky_dictionary(demo)


def test_xlsx_has_a_header_text_cells_only_and_no_formulas(demo: Dictionary) -> None:
    data = formats.write(risky_dictionary(demo), Format.XLSX)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
        styles = archive.read("xl/styles.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet
    assert not re.search(r'<c [^>]*t="(n|b|e|str)"', sheet)  # no numbers, booleans, formulas
    assert 'quotePrefix="1"' in styles
    book = openpyxl.load_workbook(io.BytesIO(data))
    rows = list(book["dictionary"].iter_rows(values_only=True))
    assert list(rows[0]) == list(validation.PROPERTIES)
    last = book["dictionary"][len(rows)]
    assert last[2].value == RISKY.label and last[2].data_type == "s"
    assert last[2].quotePrefix and not last[0].quotePrefix
    assert all(isinstance(value, str) for row in rows for value in row if value is not None)
    assert back(risky_dictionary(demo), Format.XLSX) == risky_dictionary(demo)


# --- spreadsheets as curators make them -----------------------------------------------------


def workbook(*rows: list[object], merge: str = "") -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sheet1"
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


IDS: list[list[object]] = [
    ["subject_id", "string", True, None, None, "[A-Z]{3}-[0-9]{4}"],
    ["timepoint", "string", True, None, None, None],
    ["site", "string", True, None, None, None],
]
HEAD: list[object] = ["name", "type", "required", "minimum", "maximum", "pattern"]


def test_xlsx_typed_cells_are_read_as_their_text() -> None:
    data = workbook(
        HEAD, *IDS, ["mmse", "integer", False, 0, 30.0, None], [], ["bmi", "number", "", 12.5, 60]
    )
    checked = validation.check(formats.read(data, Format.XLSX), version=1)
    assert checked.variable("mmse").maximum == 30  # type: ignore[union-attr]
    assert checked.variable("bmi").minimum == 12.5  # type: ignore[union-attr]
    assert checked.variable("subject_id").required  # type: ignore[union-attr]


def xlsx_problems(data: bytes) -> list[str]:
    with pytest.raises(Invalid) as caught:
        validation.check(formats.read(data, Format.XLSX), version=1)
    return [str(validation.Problem(**d)) for d in caught.value.details]


def test_xlsx_formulas_dates_and_merged_cells_are_refused() -> None:
    import datetime

    data = workbook(
        HEAD, *IDS, ["mmse", "integer", False, "=1-1", 30, None],
        ["visit", "yearmonth", datetime.datetime(2020, 1, 1), None, None, None],
        ["x", "string", None, None, None, None],
        merge="A9:B9",
    )  # fmt: skip
    found = xlsx_problems(data)
    assert "sheet: cells A9:B9 are merged; give every cell its own value" in found
    assert "cell D5: holds a formula; type the value itself" in found
    assert "cell C6: holds a date or time; format the column as text and type the value" in found


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"PK\x03\x04 not really", "The file is not an XLSX workbook (it is not a zip archive)."),
        (b"name,type\n", "The file is not an XLSX workbook (it is not a zip archive)."),
    ],
)
def test_not_a_workbook(data: bytes, expected: str) -> None:
    assert xlsx_problems(data) == [expected]


def test_a_zip_that_is_no_workbook_and_a_zip_bomb() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert xlsx_problems(buffer.getvalue()) == [
        "The file is a zip archive but not an XLSX workbook."
    ]
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", b"<" + b" " * (70 * 1024 * 1024))
    assert len(bomb.getvalue()) < 200_000
    assert xlsx_problems(bomb.getvalue()) == [
        "The workbook unpacks to more than 64 MiB; it is not a plain data dictionary."
    ]


def test_a_damaged_workbook_is_reported_not_raised(demo: Dictionary) -> None:
    data = bytearray(formats.write(demo, Format.XLSX))
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as source, zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = content[: len(content) // 2]
            target.writestr(item, content)
    [problem] = xlsx_problems(buffer.getvalue())
    assert problem.startswith("The workbook cannot be read:")


def test_only_the_dictionary_sheet_is_read(demo: Dictionary) -> None:
    data = formats.write(demo, Format.XLSX)
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["dictionary", "about"]
    book.move_sheet("about", offset=-1)
    buffer = io.BytesIO()
    book.save(buffer)
    assert validation.check(formats.read(buffer.getvalue(), Format.XLSX), version=1) == demo


# --- cells ----------------------------------------------------------------------------------


@given(st.text(string.printable + "'=+-@é"))
def test_formula_escaping_is_undone_exactly(text: str) -> None:
    escaped = cells.escape_formula(text)
    assert not cells.is_risky(escaped)
    assert cells.unescape_formula(escaped) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_numbers_survive_their_text(value: float) -> None:
    assert cells.parse_number(cells.format_number(value, FieldType.NUMBER)) == value


@given(st.lists(st.sampled_from(["", "-99", "NA", "a b", "."]), unique=True))
def test_missing_codes_survive_their_text(codes: list[str]) -> None:
    assert cells.parse_missing(cells.format_missing(codes)) == tuple(codes)
