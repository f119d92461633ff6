"""Check-digit algorithms, each against numbers computed independently (tests/quality/helpers)
and published examples, with one digit changed to prove the check bites."""

from __future__ import annotations

import random

import pytest

from cohortvault.quality import nationalids as ids
from tests.quality import helpers

SEEDS = range(25)


def _changed(digits: str, position: int) -> str:
    """The same number with one digit changed (a check digit catches every single change)."""
    old = int(digits[position])
    return digits[:position] + str((old + 1) % 10) + digits[position + 1 :]


@pytest.mark.detector("fodselsnummer")
@pytest.mark.parametrize("seed", SEEDS)
def test_generated_fodselsnummer_and_d_numbers_are_valid(seed: int) -> None:
    rng = random.Random(seed)
    assert ids.fodselsnummer(helpers.fodselsnummer(rng))
    assert ids.fodselsnummer(helpers.fodselsnummer(rng, d_number=True))


@pytest.mark.detector("fodselsnummer")
@pytest.mark.parametrize("position", range(11))
def test_fodselsnummer_with_any_digit_changed_is_invalid(position: int) -> None:
    number = helpers.fodselsnummer(random.Random(position))
    assert not ids.fodselsnummer(_changed(number, position))


@pytest.mark.detector("fodselsnummer")
@pytest.mark.parametrize("number", ["15076500565", "01010750160", "31129956715"])
def test_published_fodselsnummer_examples(number: str) -> None:
    assert ids.fodselsnummer(number)


@pytest.mark.detector("fodselsnummer")
@pytest.mark.parametrize(
    "number", ["1507650056", "150765005650", "1507650056x", "00000000000", "31029912345"]
)
def test_fodselsnummer_malformed_or_impossible_dates(number: str) -> None:
    assert not ids.fodselsnummer(number)


@pytest.mark.detector("personnummer")
@pytest.mark.parametrize("seed", SEEDS)
def test_generated_personnummer_in_both_forms(seed: int) -> None:
    rng = random.Random(seed)
    short, long = helpers.personnummer(rng)
    assert ids.personnummer(short.replace("-", ""))
    assert ids.personnummer(long[2:], century=long[:2])
    short, _ = helpers.personnummer(rng, samordning=True)
    assert ids.personnummer(short.replace("-", ""))


@pytest.mark.detector("personnummer")
@pytest.mark.parametrize(
    "number,valid",
    [("8112189876", True), ("8112189875", False), ("8113189876", False), ("0000000000", False)],
)
def test_personnummer_examples(number: str, valid: bool) -> None:
    assert ids.personnummer(number) is valid


@pytest.mark.detector("personnummer")
def test_personnummer_century_must_be_plausible() -> None:
    assert ids.personnummer("8112189876", century="19")
    assert not ids.personnummer("8112189876", century="17")


@pytest.mark.detector("cpr")
@pytest.mark.parametrize("seed", SEEDS)
def test_generated_cpr_passes_date_and_mod11(seed: int) -> None:
    number = helpers.cpr(random.Random(seed)).replace("-", "")
    assert ids.cpr(number) == (True, True)


@pytest.mark.detector("cpr")
def test_cpr_after_2007_may_fail_mod11_but_keeps_its_date() -> None:
    number = helpers.cpr(random.Random(1)).replace("-", "")
    modern = number[:9] + str((int(number[9]) + 1) % 10)
    assert ids.cpr(modern) == (True, False)
    assert ids.cpr("3213991234") == (False, False)  # no 32nd day


@pytest.mark.detector("cpr")
def test_cpr_century_from_the_seventh_digit() -> None:
    # 29 February 2000 exists, 29 February 1900 does not: the 7th digit decides the century
    assert ids.cpr("2902004000")[0]  # 7th digit 4, year 00 -> 2000
    assert not ids.cpr("2902000000")[0]  # 7th digit 0 -> 1900


@pytest.mark.detector("steuer-id")
@pytest.mark.parametrize("seed", SEEDS)
def test_generated_steuer_ids_are_valid(seed: int) -> None:
    assert ids.steuer_id(helpers.steuer_id(random.Random(seed)))


@pytest.mark.detector("steuer-id")
@pytest.mark.parametrize(
    "number,valid",
    [
        ("86095742719", True),
        ("86095742718", False),
        ("06095742719", False),
        ("12345678903", False),
        ("11111111116", False),
    ],
)
def test_steuer_id_examples(number: str, valid: bool) -> None:
    assert ids.steuer_id(number) is valid


@pytest.mark.detector("sozialversicherungsnummer")
@pytest.mark.parametrize("seed", SEEDS)
def test_generated_social_insurance_numbers_are_valid(seed: int) -> None:
    number = helpers.svnr(random.Random(seed))
    assert ids.sozialversicherungsnummer(number)
    assert not ids.sozialversicherungsnummer(number[:-1] + str((int(number[-1]) + 1) % 10))


@pytest.mark.detector("sozialversicherungsnummer")
@pytest.mark.parametrize("text", ["12345678A123", "15070649C10", "150706491C103", "15320649C103"])
def test_social_insurance_number_shapes(text: str) -> None:
    assert not ids.sozialversicherungsnummer(text)


@pytest.mark.detector("dni")
@pytest.mark.parametrize("seed", SEEDS)
def test_generated_dni_and_a_wrong_letter(seed: int) -> None:
    number = helpers.dni(random.Random(seed))
    assert ids.dni(number[:8], number[8])
    wrong = "A" if number[8] != "A" else "B"
    assert not ids.dni(number[:8], wrong)


@pytest.mark.detector("dni")
def test_dni_published_example() -> None:
    assert ids.dni("12345678", "Z")
    assert ids.dni("12345678", "z")
    assert not ids.dni("1234567", "Z")


@pytest.mark.detector("nie")
@pytest.mark.parametrize("seed", SEEDS)
def test_generated_nie_and_a_wrong_prefix(seed: int) -> None:
    number = helpers.nie(random.Random(seed))
    assert ids.nie(number[0], number[1:8], number[8])
    assert not ids.nie("W", number[1:8], number[8])


@pytest.mark.detector("nhs")
@pytest.mark.parametrize("seed", SEEDS)
def test_generated_nhs_numbers_are_valid(seed: int) -> None:
    digits = helpers.nhs(random.Random(seed)).replace(" ", "")
    assert ids.nhs(digits)
    assert not ids.nhs(_changed(digits, 9))


@pytest.mark.detector("nhs")
@pytest.mark.parametrize(
    "number,valid", [("9434765919", True), ("9434765918", False), ("943476591", False)]
)
def test_nhs_examples(number: str, valid: bool) -> None:
    assert ids.nhs(number) is valid


@pytest.mark.detector("credit-card")
@pytest.mark.parametrize(
    "number,network",
    [
        ("4111111111111111", "Visa"),
        ("5555555555554444", "Mastercard"),
        ("2223003122003222", "Mastercard"),
        ("378282246310005", "American Express"),
        ("6011111111111117", "Discover"),
        ("3530111333300000", "JCB"),
        ("30569309025904", "Diners Club"),
        ("6759649826438453", "Maestro"),
    ],
)
def test_test_card_numbers_by_network(number: str, network: str) -> None:
    assert ids.card_network(number) == network


@pytest.mark.detector("credit-card")
@pytest.mark.parametrize("number", ["4111111111111112", "1234567812345670", "411111111111111"])
def test_cards_failing_luhn_or_without_a_network(number: str) -> None:
    assert ids.card_network(number) is None


def test_luhn_reference_values() -> None:
    assert ids.luhn("79927398713")
    assert not ids.luhn("79927398710")
    assert not ids.luhn("7")
    assert not ids.luhn("79a")


def test_valid_date_rejects_impossible_days() -> None:
    assert ids.valid_date(2000, 2, 29)
    assert not ids.valid_date(1900, 2, 29)
    assert not ids.valid_date(2020, 13, 1)
