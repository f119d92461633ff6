"""Properties (hypothesis): readers never raise and give a table or the reason there is none;
detectors never crash, always find valid generated numbers, and never show a whole value."""

from __future__ import annotations

import csv
import io
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohortvault.quality import check, read
from cohortvault.quality.detectors import NUMBER_GROUP, scan_value
from cohortvault.quality.masking import mask
from cohortvault.quality.tables import Limits, Table
from tests.quality import helpers

PROPERTIES = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SMALL = Limits(max_bytes=1 << 20, max_rows=10_000, max_columns=200)


def well_formed(result: Table) -> None:
    """A table, or no table and an error saying why; never both."""
    errors = [f for f in result.findings if f.severity == "error"]
    if result.data is None:
        assert errors
    else:
        assert not errors
        assert result.data.num_columns == len(result.names) == result.detected.columns
        assert result.data.num_rows == result.detected.rows > 0


CSV_TEXT = st.text(
    alphabet=st.sampled_from([*'ab1,;\t|"\n\r ø€=-.', "\x00", "\x0c", "é"]), max_size=300
)


@PROPERTIES
@given(text=CSV_TEXT, encoding=st.sampled_from(["utf-8", "utf-16", "cp1252", "latin-1"]))
def test_random_text_never_raises(text: str, encoding: str) -> None:
    data = text.encode(encoding, errors="replace")
    well_formed(read(io.BytesIO(data), "random.csv", limits=SMALL))


@PROPERTIES
@given(
    data=st.binary(max_size=2000),
    name=st.sampled_from(["x.csv", "x.tsv", "x.xlsx", "x.sav", "x.dta", "x.rds", "x"]),
)
def test_random_bytes_never_raise(data: bytes, name: str) -> None:
    well_formed(read(io.BytesIO(data), name, limits=SMALL))


CELLS = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cs"), blacklist_characters="\ufeff\u2028\u2029\x85"
    ),
    max_size=12,
)


@PROPERTIES
@given(
    rows=st.lists(st.lists(CELLS, min_size=3, max_size=3), min_size=1, max_size=20),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
)
def test_well_formed_tables_round_trip(rows: list[list[str]], delimiter: str) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(["alpha", "beta", "gamma"])
    writer.writerows(rows)
    result = read(io.BytesIO(buffer.getvalue().encode()), "t.csv", limits=SMALL)
    expected = [[cell or None for cell in row] for row in rows]
    while expected and all(cell is None for cell in expected[-1]):
        expected.pop()  # trailing empty rows are dropped
    if not expected:
        assert result.data is None
        return
    assert result.data is not None, [f.message for f in result.findings]
    got = [[r["alpha"], r["beta"], r["gamma"]] for r in result.data.to_pylist()]
    assert got == expected


@PROPERTIES
@given(text=st.text(max_size=200))
def test_detectors_never_crash_on_any_text(text: str) -> None:
    for hits in scan_value(text).values():
        for hit in hits:
            assert hit.text.strip() and hit.strength in {"strong", "weak", "possible", "format"}


@PROPERTIES
@given(value=st.text(min_size=1, max_size=60))
def test_masked_examples_never_contain_the_whole_value(value: str) -> None:
    masked = mask(value)
    if value.strip():
        assert value.strip() not in masked


NUMBERS = {
    "fodselsnummer": lambda rng: helpers.fodselsnummer(rng, d_number=rng.random() < 0.3),
    "personnummer": lambda rng: helpers.personnummer(rng, samordning=rng.random() < 0.3)[
        rng.randint(0, 1)
    ],
    "cpr": helpers.cpr,
    "steuer-id": lambda rng: (lambda n: f"{n[:2]} {n[2:5]} {n[5:8]} {n[8:]}")(
        helpers.steuer_id(rng)
    ),
    "sozialversicherungsnummer": helpers.svnr,
    "dni": helpers.dni,
    "nie": helpers.nie,
    "nhs": helpers.nhs,
    "credit-card": lambda rng: (lambda n: " ".join(n[i : i + 4] for i in range(0, 16, 4)))(
        helpers.card(rng)
    ),
}
AROUND = st.sampled_from(["", "id ", "nr: ", "(", "see "])


@pytest.mark.parametrize(
    "detector", [pytest.param(n, marks=pytest.mark.detector(n)) for n in NUMBERS]
)
@PROPERTIES
@given(seed=st.integers(0, 2**32 - 1), before=AROUND, after=st.sampled_from(["", " ok", ")", "."]))
def test_valid_generated_numbers_are_always_found(
    detector: str, seed: int, before: str, after: str
) -> None:
    number = NUMBERS[detector](random.Random(seed))
    hits = scan_value(f"{before}{number}{after}")
    # a number valid for two schemes (a CPR that is also a Swedish samordningsnummer) is
    # reported once, by the first in NUMBER_GROUP: personal data either way
    found = {name for name, found in hits.items() if any(h.strength == "strong" for h in found)}
    assert detector in found or found & set(NUMBER_GROUP[: NUMBER_GROUP.index(detector)]), (
        number,
        hits,
    )
    assert number not in mask(number)


@pytest.mark.detector("email")
@PROPERTIES
@given(
    local=st.from_regex(r"[a-z][a-z0-9._]{0,15}", fullmatch=True),
    domain=st.from_regex(r"[a-z][a-z0-9-]{0,10}\.(no|se|dk|de|es|uk|com)", fullmatch=True),
)
def test_generated_email_addresses_are_always_found(local: str, domain: str) -> None:
    address = f"{local}@{domain}"
    assert any(h.strength == "strong" for h in scan_value(f"mail {address} now").get("email", []))
    assert address not in mask(address)


@PROPERTIES
@given(cells=st.lists(CELLS, min_size=1, max_size=15))
def test_check_never_raises_on_any_column(cells: list[str]) -> None:
    quoted = ['"' + c.replace('"', '""') + '"' for c in cells]
    text = "subject_id,timepoint,site,note,score\n" + "".join(
        f"OSL-{k:04d},t0,oslo,{q},{q}\n" for k, q in enumerate(quoted)
    )
    table = read(io.BytesIO(text.encode()), "x.csv", limits=SMALL)
    dictionary = helpers.dictionary(
        helpers.Variable("note", helpers.T.STRING),
        helpers.Variable("score", helpers.T.NUMBER, minimum=0),
    )
    result = check(table, dictionary, site="oslo", known_timepoints=["t0"])
    for finding in result.findings:
        if finding.personal_data and finding.example:
            assert all(c.strip() not in finding.example for c in cells if len(c.strip()) > 1)
