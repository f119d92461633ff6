"""Content detectors on single values: what each recognises, in which formats, and the clean
values it must leave alone (measurements, visit dates, subject IDs, short codes)."""

from __future__ import annotations

import base64
import random

import pytest

from cohortvault.quality.detectors import DETECTORS, UNION_GATE, scan_value
from tests.quality import helpers


def strengths(value: str, detector: str) -> set[str]:
    return {h.strength for h in scan_value(value).get(detector, [])}


def real(value: str, detector: str) -> bool:
    return bool(strengths(value, detector) - {"format"})


#: Values of a clean cohort file: none of them may be taken for personal data.
CLEAN = [
    "23.5",
    "1023",
    "0.00123",
    "-12.75",
    "1234567.8",
    "98.6",
    "120/80",
    "3 times",
    "12 months",
    "2.5 mg",
    "5 mg/kg",
    "T1w",
    "MPRAGE",
    "CT",
    "MR",
    "AD",
    "MCI",
    "CN",
    "F",
    "M",
    "R",
    "baseline",
    "fu1",
    "wave3",
    "t2",
    "OSL-0001",
    "UPP-1234",
    "NO-000123",
    "ABC-2019-000123",
    "12:30:45",
    "08:15",
    "v1.2.3",
    "1.0.0",
    "yes",
    "no",
    "none",
    "n/a",
    "NA",
    "-99",
    "-88",
    "1e-05",
    "Alzheimer disease",
    "Parkinson",
    "Lewy body dementia",
    "Mini-Mental State Examination",
    "Trail Making Test B",
    "Boston Naming Test",
    "Rey Auditory Verbal Learning",
    "participant tired",
    "motion artefact on T1",
    "retest scheduled",
    "Spring 2020",
    "Aggregate 3",
    "Halle 3",
    "Group A",
    "Scanner 2",
    "Siemens Prisma 3T",
    "MMSE 28/30",
    "dose 10 mg twice daily",
    "1 2 3 4",
    "10 20 30",
    "2019",
    "2020-01",
    "1950-03",
    "Q3 2019",
    "score 12 of 30",
    "AA",
    "ABC",
    "OK",
    "N",
    "@",
    "x@y",
    "mail",
    "http://",
]


@pytest.mark.parametrize("value", CLEAN)
def test_clean_values_are_not_personal_data(value: str) -> None:
    found = {
        name: hits
        for name, hits in scan_value(value).items()
        if any(h.strength == "strong" for h in hits)
    }
    assert found == {}, value


def test_every_gate_compiles_and_the_union_finds_what_the_detectors_find() -> None:
    import polars as pl

    values = [
        "kari@example.no",
        "+47 987 65 432",
        "15076500565",
        "811218-9876",
        "12345678Z",
        "X1234567L",
        "943 476 5919",
        "4111 1111 1111 1111",
        "192.168.1.10",
        "12.03.1950",
        "Storgata 12",
        "Kari Nordmann",
        "@kari_n",
        "rs12345",
        "e3/e4",
        "data:image/png;base64,iVBORw0KGgo",
    ]
    series = pl.Series(values)
    assert series.str.contains(UNION_GATE).all()
    for detector in DETECTORS:
        series.str.contains(detector.gate)  # compiles in Polars' engine


# --- e-mail, phone, IP, handles -----------------------------------------------------------------


@pytest.mark.detector("email")
@pytest.mark.parametrize(
    "value",
    [
        "kari.nordmann@example.no",
        "Contact: ola+cohort@uni-bergen.no",
        "j.garcia@correo.es",
        "x_y@sub.domain.co.uk",
    ],
)
def test_email_addresses(value: str) -> None:
    assert real(value, "email")


@pytest.mark.detector("email")
@pytest.mark.parametrize(
    "value", ["kari@", "@example.no", "kari at example dot no", "a@b", "x@y.1"]
)
def test_not_email_addresses(value: str) -> None:
    assert not real(value, "email")


@pytest.mark.detector("phone")
@pytest.mark.parametrize(
    "value",
    [
        "+47 987 65 432",
        "0047 98765432",
        "+46 70 123 45 67",
        "+45 12 34 56 78",
        "+49 30 12345678",
        "+49 (0)30 1234567",
        "+34 612 34 56 78",
        "+44 20 7946 0958",
        "987 65 432",
        "22 33 44 55",
        "070-123 45 67",
        "08-123 456 78",
        "030 12345678",
        "0151-12345678",
        "(030) 1234567",
        "020 7946 0958",
        "07700 900123",
        "612 34 56 78",
        "612 345 678",
        "91 123 45 67",
        "tlf: 987 65 432",
        "Tel. 030 12345678",
    ],
)
def test_telephone_numbers_of_the_six_countries(value: str) -> None:
    assert strengths(value, "phone") == {"strong"}, value


@pytest.mark.detector("phone")
@pytest.mark.parametrize(
    "value",
    [
        "+47 1234",
        "+34 512 34 56 78",
        "12 15 18 20",
        "1234567",
        "120 80",
        "23.5",
        "2020-01-05",
        "1 234 567",
    ],
)
def test_not_telephone_numbers(value: str) -> None:
    assert "strong" not in strengths(value, "phone"), value


@pytest.mark.detector("phone")
def test_bare_national_numbers_are_weak() -> None:
    assert strengths("07700900123", "phone") == {"weak"}


@pytest.mark.detector("ip-address")
@pytest.mark.parametrize(
    "value",
    [
        "192.168.1.10",
        "from 10.0.0.1 at noon",
        "2001:db8::1",
        "fe80::1ff:fe23:4567:890a",
        "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
    ],
)
def test_ip_addresses(value: str) -> None:
    assert real(value, "ip-address")


@pytest.mark.detector("ip-address")
@pytest.mark.parametrize("value", ["256.1.1.1", "1.2.3", "0.0.0.0", "12:30:45", "1.2.3.4.5", "::"])  # noqa: S104
def test_not_ip_addresses(value: str) -> None:
    assert not real(value, "ip-address")


@pytest.mark.detector("handle")
@pytest.mark.parametrize("value", ["@kari_n", "follow me @ola.nordmann", "(@garcia_j)"])
def test_handles(value: str) -> None:
    assert real(value, "handle")


@pytest.mark.detector("handle")
@pytest.mark.parametrize("value", ["kari@example.no", "@", "@a", "x@y"])
def test_not_handles(value: str) -> None:
    assert not real(value, "handle")


# --- national identity numbers in text ----------------------------------------------------------


@pytest.mark.detector("fodselsnummer")
@pytest.mark.parametrize("seed", range(10))
def test_fodselsnummer_in_cells(seed: int) -> None:
    number = helpers.fodselsnummer(random.Random(seed))
    assert strengths(number, "fodselsnummer") == {"strong"}
    assert strengths(f"{number[:6]} {number[6:]}", "fodselsnummer") == {"strong"}
    assert strengths(f"fnr {number} (mor)", "fodselsnummer") == {"strong"}


@pytest.mark.detector("fodselsnummer")
def test_fodselsnummer_with_a_wrong_control_digit_is_only_a_shape() -> None:
    number = helpers.fodselsnummer(random.Random(3))
    wrong = number[:10] + str((int(number[10]) + 1) % 10)
    assert strengths(wrong, "fodselsnummer") <= {"format"}


@pytest.mark.detector("personnummer")
@pytest.mark.parametrize("seed", range(8))
def test_personnummer_in_cells(seed: int) -> None:
    short, long = helpers.personnummer(random.Random(seed))
    assert strengths(short, "personnummer") == {"strong"}
    assert strengths(long, "personnummer") == {"strong"}
    assert strengths(short.replace("-", "+"), "personnummer") == {"strong"}
    assert real(short.replace("-", ""), "personnummer")


@pytest.mark.detector("cpr")
@pytest.mark.parametrize("seed", range(8))
def test_cpr_in_cells(seed: int) -> None:
    number = helpers.cpr(random.Random(seed))
    assert real(number, "cpr")


@pytest.mark.detector("cpr")
def test_cpr_strength_by_format() -> None:
    number = helpers.cpr(random.Random(11))
    modern = number[:10] + str((int(number[10]) + 1) % 10)
    assert "strong" in strengths(modern, "cpr")  # hyphenated with a valid date
    assert strengths(modern.replace("-", ""), "cpr") == {"possible"}  # bare, no mod 11


@pytest.mark.detector("steuer-id")
@pytest.mark.parametrize("seed", range(8))
def test_steuer_id_in_cells(seed: int) -> None:
    number = helpers.steuer_id(random.Random(seed))
    spaced = f"{number[:2]} {number[2:5]} {number[5:8]} {number[8:]}"
    assert "strong" in strengths(spaced, "steuer-id")
    assert "weak" in strengths(number, "steuer-id") or real(number, "fodselsnummer")


@pytest.mark.detector("sozialversicherungsnummer")
@pytest.mark.parametrize("seed", range(8))
def test_social_insurance_numbers_in_cells(seed: int) -> None:
    number = helpers.svnr(random.Random(seed))
    assert strengths(number, "sozialversicherungsnummer") == {"strong"}
    spaced = f"{number[:2]} {number[2:8]} {number[8]} {number[9:]}"
    assert strengths(spaced, "sozialversicherungsnummer") == {"strong"}


@pytest.mark.detector("dni")
@pytest.mark.parametrize("seed", range(8))
def test_dni_in_cells(seed: int) -> None:
    number = helpers.dni(random.Random(seed))
    assert strengths(number, "dni") == {"strong"}
    assert strengths(f"{number[:8]}-{number[8]}", "dni") == {"strong"}
    dotted = f"{number[:2]}.{number[2:5]}.{number[5:8]}-{number[8]}"
    assert strengths(dotted, "dni") == {"strong"}


@pytest.mark.detector("dni")
def test_dni_with_a_wrong_letter_is_only_a_shape() -> None:
    assert strengths("12345678A", "dni") == {"format"}


@pytest.mark.detector("nie")
@pytest.mark.parametrize("seed", range(8))
def test_nie_in_cells(seed: int) -> None:
    number = helpers.nie(random.Random(seed))
    assert strengths(number, "nie") == {"strong"}
    assert strengths(f"{number[0]}-{number[1:8]}-{number[8]}", "nie") == {"strong"}


@pytest.mark.detector("nhs")
@pytest.mark.parametrize("seed", range(8))
def test_nhs_in_cells(seed: int) -> None:
    spaced = helpers.nhs(random.Random(seed))
    assert real(spaced, "nhs")
    assert real(spaced.replace(" ", "-"), "nhs") or real(spaced.replace(" ", "-"), "cpr")


@pytest.mark.detector("nhs")
def test_nhs_bare_digits_are_weak() -> None:
    assert strengths("9434765919", "nhs") <= {"weak", "format"}
    assert strengths("943 476 5918", "nhs") == {"format"}


@pytest.mark.detector("credit-card")
@pytest.mark.parametrize(
    "value,strength",
    [
        ("4111 1111 1111 1111", "strong"),
        ("5555-5555-5555-4444", "strong"),
        ("3782 822463 10005", "strong"),
        ("4111111111111111", "weak"),
    ],
)
def test_credit_cards(value: str, strength: str) -> None:
    assert strength in strengths(value, "credit-card")


@pytest.mark.detector("credit-card")
def test_card_shapes_failing_luhn() -> None:
    assert strengths("4111 1111 1111 1112", "credit-card") == {"format"}


def test_only_the_first_number_detector_that_knows_a_value_counts() -> None:
    number = helpers.fodselsnummer(random.Random(7))
    found = scan_value(number)
    assert "fodselsnummer" in found
    assert not any(
        h.strength != "format" for name in ("steuer-id", "phone") for h in found.get(name, [])
    )


# --- dates of birth, addresses, names -----------------------------------------------------------


@pytest.mark.detector("birth-date")
@pytest.mark.parametrize(
    "value",
    [
        "1950-03-12",
        "12.03.1950",
        "12/03/1950",
        "3-12-1950",
        "12 March 1950",
        "March 12, 1950",
        "12. März 1950",
        "3 de marzo de 1950",
        "12. mars 1950",
        "12 maj 1950",
        "born 1950-03-12",
    ],
)
def test_full_dates(value: str) -> None:
    assert strengths(value, "birth-date") == {"strong"}, value


@pytest.mark.detector("birth-date")
@pytest.mark.parametrize(
    "value", ["1950-03", "03/1950", "1950", "31.02.1950", "2099-01-01", "1850-01-01", "March 1950"]
)
def test_not_full_dates(value: str) -> None:
    assert "strong" not in strengths(value, "birth-date"), value


@pytest.mark.detector("birth-date")
def test_two_digit_years_are_weak() -> None:
    assert strengths("12.03.50", "birth-date") == {"weak"}


@pytest.mark.detector("street-address")
@pytest.mark.parametrize(
    "value",
    [
        "221B Baker Street",
        "10 Downing St",
        "Storgata 12",
        "Karl Johans gate 1",
        "Kirkeveien 5B",
        "Nørregade 12",
        "Drottninggatan 5",
        "Sveavägen 44",
        "Hauptstraße 5",
        "Berliner Str. 12",
        "Goetheweg 3",
        "Marktplatz 1",
        "Calle Mayor 5",
        "C/ Alcalá 45",
        "Avenida de la Constitución, 12",
        "Plaza Mayor nº 3",
        "Parkveien, 0350 Oslo",
    ],
)
def test_street_addresses(value: str) -> None:
    assert real(value, "street-address"), value


@pytest.mark.detector("street-address")
@pytest.mark.parametrize(
    "value",
    [
        "Spring 2020",
        "Aggregate 3",
        "Halle 3",
        "3 pills on the way",
        "12 months",
        "Oslo",
        "0350 Oslo",
        "Gate 12",
    ],
)
def test_not_street_addresses(value: str) -> None:
    assert not real(value, "street-address"), value


@pytest.mark.detector("person-name")
@pytest.mark.parametrize(
    "value",
    [
        "Kari Nordmann",
        "Nordmann, Kari",
        "Seen by Dr Anna Berg",
        "José García",
        "Jose Garcia",
        "Hans-Peter Müller",
        "Ludwig van Beethoven",
        "KARI NORDMANN",
        "Søren Kierkegaard",
    ],
)
def test_person_names(value: str) -> None:
    assert strengths(value, "person-name") == {"strong"}, value


@pytest.mark.detector("person-name")
@pytest.mark.parametrize(
    "value",
    [
        "Alzheimer Disease",
        "Maria Hospital",
        "Karl Johans gate 1",
        "Trail Making",
        "participant tired",
        "anna berg",
    ],
)
def test_not_person_names(value: str) -> None:
    assert "strong" not in strengths(value, "person-name"), value


@pytest.mark.detector("person-name")
def test_a_lone_given_name_is_weak() -> None:
    assert strengths("Ingrid", "person-name") == {"weak"}


# --- genetic data, images -----------------------------------------------------------------------


@pytest.mark.detector("genetic")
@pytest.mark.parametrize(
    "value", ["rs429358", "rs7412:CT", "e3/e4", "ε4/ε4", "APOE e3e4", "ACGTACGTTTGACCATGCAAGT"]
)
def test_genetic_data(value: str) -> None:
    assert strengths(value, "genetic") == {"strong"}, value


@pytest.mark.detector("genetic")
@pytest.mark.parametrize("value", ["AG", "A/G", "C|T", "TT"])
def test_genotype_calls_are_weak(value: str) -> None:
    assert strengths(value, "genetic") == {"weak"}


@pytest.mark.detector("genetic")
@pytest.mark.parametrize("value", ["CT", "MR"])
def test_codes_like_ct_are_at_most_weak(value: str) -> None:
    assert "strong" not in strengths(value, "genetic")


@pytest.mark.detector("image")
@pytest.mark.parametrize(
    "value",
    [
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg",
        "/9j/4AAQSkZJRgABAQ",
        "iVBORw0KGgoAAAANS",
        "ffd8ffe000104a464946",
        base64.b64encode(bytes(range(256))).decode(),
    ],
)
def test_images_and_binary_payloads(value: str) -> None:
    assert real(value, "image"), value[:30]


@pytest.mark.detector("image")
@pytest.mark.parametrize("value", ["png", "image_quality", "ACGT" * 60, "short base64 aGVsbG8="])
def test_not_images(value: str) -> None:
    assert not real(value, "image")
