"""Every kind of mistake in a dictionary file, each reported with where it is, all at once."""

from __future__ import annotations

from typing import Any

import pytest

from cohortvault.catalog import formats, validation
from cohortvault.catalog.formats import Format
from cohortvault.catalog.schema import Dictionary, FieldType
from cohortvault.errors import Invalid
from tests.catalog.conftest import IDENTIFIER_FIELDS, MMSE, as_json, schema_with

HEADER = "name,type,label,unit,minimum,maximum,pattern,categories,missing_values,required\n"
IDENTIFIER_ROWS = (
    "subject_id,string,Subject,,,,[A-Z]{3}-[0-9]{4},,,true\n"
    "timepoint,string,Timepoint,,,,,,,true\n"
    "site,string,Site,,,,,,,true\n"
)


def problems(data: bytes, format: Format = Format.JSON) -> list[str]:
    """Every problem found, as the one-line text the pages and the command line show."""
    with pytest.raises(Invalid) as caught:
        validation.check(formats.read(data, format), version=1)
    return [str(validation.Problem(**detail)) for detail in caught.value.details]


def json_field(**changes: Any) -> bytes:
    field = {**MMSE, **changes}
    return as_json(schema_with({k: v for k, v in field.items() if v is not None}))


def csv_rows(*rows: str) -> bytes:
    return (HEADER + IDENTIFIER_ROWS + "".join(rows)).encode()


def test_a_valid_dictionary_passes() -> None:
    checked = validation.check(formats.read(json_field(), Format.JSON), version=4)
    assert isinstance(checked, Dictionary) and checked.version == 4
    mmse = checked.variable("mmse")
    assert mmse is not None and mmse.type is FieldType.INTEGER
    assert (mmse.minimum, mmse.maximum, mmse.unit, mmse.domain) == (0, 30, "points", "cognition")
    subject = checked.variable("subject_id")
    assert subject is not None and subject.identifier and subject.required


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"type": "bogus"}, "type: 'bogus' is not one of string, integer, number, boolean"),
        ({"type": None}, "type: is missing; choose one of string"),
        ({"name": "2nd score"}, "'2nd score' is not a valid name: start with a letter"),
        ({"name": ""}, "field 4, name: every variable needs a name"),
        (
            {"constraints": {"minimum": 40, "maximum": 30}},
            "field 4, mmse, minimum: 40 is greater than the maximum 30",
        ),
        (
            {"constraints": {"minimum": 0.5}},
            "mmse, minimum: 0.5 is not a whole number, but mmse is an integer",
        ),
        ({"constraints": {"maximum": "thirty"}}, "maximum: 'thirty' is not a number"),
        ({"constraints": {"maximum": True}}, "maximum: True is not a number"),
        (
            {"type": "string", "constraints": {"minimum": 1}},
            "minimum: applies to integer and number variables, not string",
        ),
        (
            {"type": "string", "constraints": {"pattern": "[A-Z"}},
            "pattern: '[A-Z' is not a valid regular expression: unterminated character set",
        ),
        ({"constraints": {"pattern": "[0-9]+"}}, "pattern: applies to string variables"),
        (
            {"type": "string", "constraints": {"pattern": "(?=A)[A-Z]+"}},
            "pattern: '(?=A)[A-Z]+' cannot be used by the quality checks: look-around, including "
            "look-ahead and look-behind, is not supported",
        ),
        (
            {"type": "string", "constraints": {"pattern": r"(a)\1"}},
            "cannot be used by the quality checks: backreferences are not supported",
        ),
        (
            {"type": "string", "constraints": {"pattern": "[[:alpha:]]"}},
            "is not a valid regular expression: Possible nested set",
        ),
        (
            {"constraints": {"minimum": 0, "maximum": 30, "enum": [1, 2, 99]}},
            "categories: code 99 lies outside the range 0–30",
        ),
        ({"constraints": {"enum": [1, "two"]}}, "categories: code 'two' is not a whole number"),
        ({"constraints": {"enum": []}}, "categories: the enum constraint is a non-empty list"),
        ({"constraints": {"enum": [1, 1]}}, "categories: the enum lists a code twice"),
        (
            {"constraints": {"enum": [1, 2]}, "cohortvault": {"categories": {"3": "three"}}},
            "categories: 3 have labels but are not in the enum",
        ),
        (
            {"type": "number", "constraints": {"enum": [1, 2]}},
            "categories: apply to string and integer variables, not number",
        ),
        ({"cohortvault": {"categories": ["a"]}}, "categories is an object of code: label"),
        (
            {"missingValues": ["-99", "-99"]},
            "mmse, missing_values: '-99' is given twice",
        ),
        (
            {"missingValues": ["5"]},
            "missing_values: 5 lies inside the valid range 0–30, so it could be a real value",
        ),
        (
            {"missingValues": ["1"], "constraints": {"enum": [1, 2]}},
            "missing_values: '1' is also a category; a code means one thing",
        ),
        ({"missingValues": [-99]}, "missing-value codes must be text"),
        ({"cohortvault": {"sensitivity": "secret"}}, "sensitivity: 'secret' is not one of"),
        ({"cohortvault": {"sites": ["Oslo"]}}, "sites: 'Oslo': codes are lower-case, like oslo"),
        ({"cohortvault": {"timepoints": "wave1"}}, None),  # a single code as text is fine
        ({"cohortvault": {"sites": [1]}}, "sites: every entry must be text"),
        ({"cohortvault": {"owner": "me"}}, "owner: 'owner' is not a cohortvault property"),
        ({"title": "two\nlines"}, "label: contains control characters or line breaks"),
        ({"title": "x" * 201}, "label: is longer than 200 characters"),
        ({"description": 42}, "description: 42 is not text"),
        ({"rdfType": "http://x"}, "rdfType: 'rdfType' is not part of the dictionary format"),
        ({"format": "email"}, "format: only the default format is supported"),
        ({"constraints": {"maxLength": 3}}, "the constraint 'maxLength' is not supported"),
        ({"constraints": "required"}, "constraints: 'constraints' is an object"),
        ({"constraints": {"required": "maybe"}}, "required: 'maybe' is neither true nor false"),
    ],
)
def test_each_mistake_in_a_field_is_named(changes: dict[str, Any], expected: str | None) -> None:
    if expected is None:
        validation.check(formats.read(json_field(**changes), Format.JSON), version=1)
        return
    found = problems(json_field(**changes))
    assert any(expected in problem for problem in found), found


def test_every_problem_is_reported_at_once_with_its_row() -> None:
    data = csv_rows(
        "mmse,integer,MMSE,points,40,30,,,,\n",
        "mmse,integer,again,,,,,,,\n",
        "tmt,number,TMT,s,abc,,,,,\n",
        "sex,string,Sex,,,,,F=Female|F=Again,,\n",
        "age,integer,Age,,,,,,-99||-88,\n",
    )
    assert problems(data, Format.CSV) == [
        "row 5, mmse, minimum: 40 is greater than the maximum 30",
        "row 7, tmt, minimum: 'abc' is not a number",
        "row 8, sex, categories: category 'F' is given twice",
        "row 9, age, missing_values: '-99||-88' has an empty code between separators; "
        'write "" for it',
        "row 6, mmse, name: mmse is defined twice (also at row 5)",
    ]


def test_names_differing_only_in_case_clash() -> None:
    data = csv_rows("MMSE,integer,,,,,,,,\n", "mmse,integer,,,,,,,,\n")
    assert problems(data, Format.CSV) == [
        "row 6, mmse, name: mmse differs only in case from another variable (also at row 5)"
    ]


@pytest.mark.parametrize("missing", ["subject_id", "timepoint", "site"])
def test_the_identifier_columns_must_be_defined(missing: str) -> None:
    fields = [f for f in IDENTIFIER_FIELDS if f["name"] != missing]
    assert problems(as_json({"fields": [*fields, MMSE]})) == [
        f"{missing}: The identifier column {missing} must be defined."
    ]


def test_identifier_columns_are_required_strings_and_subject_ids_have_a_format() -> None:
    fields = [
        {"name": "subject_id", "type": "integer"},
        {"name": "timepoint", "type": "string", "constraints": {"required": True}},
        {
            "name": "site",
            "type": "string",
            "constraints": {"required": True},
            "cohortvault": {"identifier": False},
        },
    ]
    assert problems(as_json({"fields": fields})) == [
        "field 1, subject_id, type: an identifier column is of type string",
        "field 1, subject_id, required: an identifier column is required (never empty)",
        "field 1, subject_id, pattern: give the format of subject IDs as a pattern",
        "field 3, site, identifier: must be marked as an identifier",
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "The file is empty."),
        (b"{not json", "line 1, column 2: The file is not valid JSON: Expecting property name"),
        (b"\xff\xfe{}", "The file is not UTF-8 text."),
        (b"[1, 2]", 'A Table Schema is an object with a list of "fields".'),
        (b'{"fields": {}}', 'A Table Schema is an object with a list of "fields".'),
        (b'{"resources": []}', "This is a Data Package; import the Table Schema"),
        (b'{"fields": []}', "The dictionary has no variables."),
        (b'{"fields": [1]}', "field 1: a field is an object"),
    ],
)
def test_malformed_json(data: bytes, expected: str) -> None:
    assert any(expected in p for p in problems(data)), problems(data)


def test_schema_level_mistakes() -> None:
    schema = schema_with(MMSE, primaryKey=["site"], foreignKeys=[], missingValues="NA")
    assert problems(as_json(schema)) == [
        "foreignKeys: unknown schema property 'foreignKeys'",
        "primaryKey: the primary key is always subject_id, timepoint",
        "missingValues: missingValues is a list of text codes",
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\n", "The file is empty."),
        (b"label,unit\nx,y\n", "row 1: the header row has no 'name' column"),
        (b"name,type,name\n", "row 1, column 3: column 'name' appears twice"),
        (b"name,type,colour\n", "row 1, column 3: unknown column 'colour'; the columns are name,"),
        ("name,type\nmmse,heltall\n".encode("latin-1"), "'heltall' is not one of"),
        ("name,type,label\nx,string,Bjørn\n".encode("latin-1"), "The file is not UTF-8 text"),
        (b"name,type\nx,string,extra\n", "row 2: has a value in column 3, which has no header"),
        (b"name,type\x00\n", "The file holds NUL characters"),
        (
            b'name,type\n"unclosed,string\n',
            "line 2: The CSV cannot be read: unexpected end of data",
        ),
    ],
)
def test_malformed_csv(data: bytes, expected: str) -> None:
    found = problems(data, Format.CSV)
    assert any(expected in p for p in found), found


@pytest.mark.parametrize("format", list(Format))
def test_an_unreadable_file_gets_one_problem_not_a_cascade(format: Format) -> None:
    assert len(problems(b"\x00\x01garbage", format)) == 1


def test_csv_with_semicolons_bom_and_yes_no_flags_is_read() -> None:
    text = (
        "\ufeffName;Type;Required;Minimum;Maximum;Categories\n"
        "subject_id;string;yes;;;\n"
        "timepoint;string;Y;;;\n"
        "site;string;1;;;\n"
        "mmse;integer;no;0;30;\n"
        "sex;string;;;;F=Female|M=Male\n"
    )
    data = text.replace("subject_id;string;yes", "subject_id;string;yes").encode()
    parsed = formats.read(data, Format.CSV)
    parsed.drafts[0].values["pattern"] = "S[0-9]+"
    checked = validation.check(parsed, version=1)
    assert [v.name for v in checked.variables] == ["subject_id", "timepoint", "site", "mmse", "sex"]
    assert checked.variable("site").required  # type: ignore[union-attr]
    assert checked.variable("sex").categories == {"F": "Female", "M": "Male"}  # type: ignore[union-attr]


def test_decimal_commas_are_explained() -> None:
    found = problems(csv_rows('bmi,number,BMI,kg/m2,12,"60,5",,,,\n'), Format.CSV)
    assert found == ["row 5, bmi, maximum: '60,5' is not a number (write decimals with a point)"]


def test_frictionless_has_the_last_word(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the Frictionless library refuses is refused too (here: a pretend refusal)."""
    from frictionless import Field

    class Report:
        def flatten(self, spec: list[str]) -> list[list[str]]:
            return [["field type is odd"]]

    monkeypatch.setattr(Field, "validate_descriptor", staticmethod(lambda d: Report()))
    found = problems(json_field())
    assert found[0] == "field 1, subject_id: not a valid Table Schema field: field type is odd"
    assert len(found) == 4


def test_hostile_json_and_csv_shapes_get_a_problem_not_a_crash() -> None:
    assert problems(b"[" * 200_000) == ["The JSON is nested too deeply to be a Table Schema."]
    many = b"name,type\n" + b"\n" * 1_000_000 + b"x,string\n" * 5001
    assert problems(many, Format.CSV) == ["More than 5000 variables."]
    wide = b"name,type\n" + b"x," * 100_000 + b"\n"
    assert any("has a value in column 3" in p for p in problems(wide, Format.CSV))
    long_cell = b"name,type,description\nx,string," + b"y" * 200_000 + b"\n"
    problem = problems(long_cell, Format.CSV)[0]  # csv's field limit is process-wide state
    assert problem in (
        "row 2, x, description: is longer than 5000 characters",
        "line 2: The CSV cannot be read: field larger than field limit (131072).",
    )
