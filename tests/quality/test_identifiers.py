"""Identifier checks: format, duplicate (subject, timepoint), unknown subjects and timepoints,
rows of another site."""

from __future__ import annotations

from tests.quality.helpers import T, Variable, findings, report

HEADER = "subject_id,timepoint,site,score"
SCORE = Variable("score", T.INTEGER)


def table(*lines: str) -> str:
    return "\n".join([HEADER, *lines]) + "\n"


CLEAN = table("OSL-0001,t0,oslo,1", "OSL-0001,t1,oslo,2", "OSL-0002,t0,oslo,3")


def test_clean_identifiers() -> None:
    result = report(CLEAN, SCORE, known_subjects=["OSL-0001", "OSL-0002"])
    assert result.findings == []


def test_subject_id_format() -> None:
    result = report(table("OSL-0001,t0,oslo,1", "osl-1,t0,oslo,2", "12345678901,t0,oslo,3"), SCORE)
    found = findings(result, "identifier-format", "subject_id")
    assert found and found[0].rows == 2 and found[0].row == 3 and found[0].example == "osl-1"


def test_duplicate_subject_and_timepoint() -> None:
    result = report(
        table(
            "OSL-0001,t0,oslo,1",
            "OSL-0002,t0,oslo,2",
            "OSL-0001,t0,oslo,3",
            "OSL-0001,t1,oslo,4",
            "OSL-0002,t0,oslo,5",
        ),
        SCORE,
    )
    found = findings(result, "duplicate-key")
    assert len(found) == 1
    assert found[0].rows == 4 and found[0].row == 4
    assert (
        "2 (subject_id, timepoint) pair(s)" in found[0].message and "rows 2, 4" in found[0].message
    )


def test_duplicates_among_many_rows() -> None:
    lines = [f"OSL-{k:04d},t0,oslo,1" for k in range(3000)]
    lines += [
        "OSL-0005,t0,oslo,2",
        "OSL-2999,t0,oslo,3",
        "OSL-0005,t1,oslo,4",
        "OSL-0005,t0,oslo,5",
    ]
    found = findings(report(table(*lines), SCORE), "duplicate-key")
    assert len(found) == 1 and found[0].rows == 5 and found[0].row == 3002
    assert "2 (subject_id, timepoint) pair(s)" in found[0].message
    assert "OSL-0005 / t0, on rows 7, 3002, 3005" in found[0].message


def test_many_subjects_of_which_some_are_unknown() -> None:
    lines = [f"OSL-{k:04d},t{k % 2},oslo,1" for k in range(3000)]
    known = [f"OSL-{k:04d}" for k in range(3000) if k not in (17, 2000)]
    found = findings(report(table(*lines), SCORE, known_subjects=known), "unknown-subject")
    assert found[0].rows == 2 and found[0].row == 19 and found[0].example == "OSL-0017"
    assert "2 subject(s) in 2 row(s)" in found[0].message


def test_empty_keys_are_not_duplicates_but_required_values() -> None:
    result = report(table(",t0,oslo,1", ",t0,oslo,2"), SCORE)
    assert not findings(result, "duplicate-key")
    assert findings(result, "required", "subject_id")[0].rows == 2


def test_subjects_the_site_does_not_know_are_a_warning() -> None:
    result = report(CLEAN, SCORE, known_subjects=["OSL-0001"])
    found = findings(result, "unknown-subject")
    assert found[0].severity == "warning" and found[0].rows == 1 and found[0].example == "OSL-0002"
    assert report(CLEAN, SCORE).findings == []  # nothing known: not checked


def test_timepoints_the_study_does_not_have_are_an_error() -> None:
    result = report(table("OSL-0001,t9,oslo,1", "OSL-0002,T0,oslo,1"), SCORE)
    found = findings(result, "unknown-timepoint")
    assert found[0].severity == "error" and found[0].rows == 2 and found[0].example == "t9"
    assert report(table("OSL-0001,t9,oslo,1"), SCORE, known_timepoints=None).findings == []


def test_rows_of_another_site_are_an_error() -> None:
    result = report(table("OSL-0001,t0,oslo,1", "OSL-0002,t0,bergen,1"), SCORE)
    found = findings(result, "other-site", "site")
    assert found[0].severity == "error" and found[0].row == 3 and found[0].example == "bergen"


def test_timepoint_categories_are_reported_once_as_unknown_timepoints() -> None:
    from cohortvault.catalog.schema import Dictionary
    from cohortvault.quality import check
    from tests.quality.helpers import IDENTIFIERS
    from tests.quality.helpers import table as read_table

    timepoint = Variable(
        "timepoint", T.STRING, required=True, identifier=True, categories={"t0": "t0", "t1": "t1"}
    )
    dictionary = Dictionary(1, (IDENTIFIERS[0], timepoint, IDENTIFIERS[2], SCORE))
    result = check(
        read_table(table("OSL-0001,t9,oslo,1")),
        dictionary,
        site="oslo",
        known_timepoints=["t0", "t1"],
    )
    assert [f.check for f in result.findings] == ["unknown-timepoint"]
    without = check(read_table(table("OSL-0001,t9,oslo,1")), dictionary, site="oslo")
    assert [f.check for f in without.findings] == ["category"]
