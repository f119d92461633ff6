"""The de-identification screen over whole tables: every detector's finding, with its row count
and a masked example, the column-level rules for weak hits, the exemptions, and column names
in the six languages."""

from __future__ import annotations

import random

import pytest

from cohortvault.quality.colnames import normalise, screen_name
from cohortvault.quality.model import PERSONAL_DATA
from tests.quality import helpers
from tests.quality.helpers import T, Variable, findings, one_column, report, rows

FILLER = ["participant tired", "retest scheduled", "motion artefact on T1", "fasting sample"]


def screened(values: list[str], detector: str, variable: Variable | None = None) -> list:
    result = one_column(values, variable)
    return findings(result, f"{PERSONAL_DATA}.{detector}")


PLANTED = {
    "email": "kari.nordmann@example.no",
    "phone": "+47 987 65 432",
    "fodselsnummer": "15076500565",
    "personnummer": "811218-9876",
    "cpr": helpers.cpr(random.Random(5)),
    "steuer-id": "86 095 742 719",
    "sozialversicherungsnummer": helpers.svnr(random.Random(5)),
    "dni": "12345678Z",
    "nie": helpers.nie(random.Random(5)),
    "nhs": "943 476 5919",
    "credit-card": "4111 1111 1111 1111",
    "ip-address": "192.168.10.7",
    "birth-date": "12.03.1950",
    "street-address": "Storgata 12",
    "person-name": "Kari Nordmann",
    "handle": "@kari_nordmann",
    "genetic": "rs429358",
    "image": "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQAAAQABAAD",
}


BY_DETECTOR = [
    pytest.param(name, marks=pytest.mark.detector(name), id=name) for name in sorted(PLANTED)
]


@pytest.mark.parametrize("detector", BY_DETECTOR)
def test_each_detector_finds_one_planted_cell_among_clean_ones(detector: str) -> None:
    value = PLANTED[detector]
    found = screened([*FILLER, value, *FILLER], detector)
    assert len(found) == 1
    finding = found[0]
    assert finding.severity == "error" and finding.rows == 1 and finding.column == "notes"
    assert finding.row == 2 + len(FILLER)
    assert finding.example and value not in finding.example and "•" in finding.example
    assert finding.personal_data


@pytest.mark.parametrize("detector", BY_DETECTOR)
def test_clean_filler_alone_finds_nothing(detector: str) -> None:
    result = one_column(FILLER * 3)
    assert not [f for f in result.findings if f.personal_data]


@pytest.mark.detector("email")
def test_row_counts_and_masked_email() -> None:
    found = screened(["a.b@example.no", "c@d.se", "ok", "kari@x.no"], "email")
    assert found[0].rows == 3
    assert found[0].example == "a•••@•••.no"


@pytest.mark.detector("fodselsnummer")
def test_a_fodselsnummer_hidden_in_a_numeric_column() -> None:
    result = report(rows("score", "12", "15076500565", "14"), Variable("score", T.INTEGER))
    found = findings(result, f"{PERSONAL_DATA}.fodselsnummer", "score")
    assert len(found) == 1 and found[0].example == "15•••••••65"


@pytest.mark.detector("fodselsnummer")
def test_numeric_columns_of_measurements_are_not_screened_for_numbers() -> None:
    values = [str(1_000 + k * 37) for k in range(50)]
    result = report(rows("volume", *values), Variable("volume", T.NUMBER))
    assert not [f for f in result.findings if f.personal_data]


@pytest.mark.detector("nhs")
def test_bare_ten_digit_barcodes_are_not_nhs_numbers() -> None:
    rng = random.Random(2)
    barcodes = [str(rng.randint(10**9, 10**10 - 1)) for _ in range(60)]
    result = one_column(barcodes, Variable("barcode", T.STRING))
    assert not [f for f in result.findings if f.personal_data and f.severity == "error"]


@pytest.mark.detector("nhs")
def test_a_column_of_bare_nhs_numbers_is_flagged() -> None:
    rng = random.Random(3)
    numbers = [helpers.nhs(rng).replace(" ", "") for _ in range(20)]
    found = screened(numbers, "nhs")
    assert found and found[0].severity == "error" and found[0].rows == 20


@pytest.mark.detector("cpr")
def test_modern_cpr_numbers_without_mod11_are_a_warning() -> None:
    rng = random.Random(4)
    modern = []
    for _ in range(20):
        number = helpers.cpr(rng).replace("-", "")
        modern.append(number[:9] + str((int(number[9]) + 1) % 10))
    found = screened(modern, "cpr")
    assert found and found[0].severity == "warning"
    assert "mod-11" in found[0].message


@pytest.mark.detector("genetic")
def test_a_column_of_genotype_calls_is_genetic() -> None:
    found = screened(["AA", "AG", "GG", "AG", "AA"] * 4, "genetic")
    assert found and found[0].severity == "error"


@pytest.mark.detector("genetic")
def test_a_modality_column_of_ct_is_not_genetic() -> None:
    assert not screened(["CT", "MR", "CT", "PET"] * 5, "genetic")


@pytest.mark.detector("person-name")
def test_a_column_of_first_names_is_flagged() -> None:
    found = screened(["Ingrid", "Ole", "Maria", "Hans", "ok"] * 4, "person-name")
    assert found and found[0].severity == "error"


@pytest.mark.detector("person-name")
def test_a_rare_given_name_among_comments_is_not_flagged() -> None:
    assert not screened(["Maria"] + FILLER * 5, "person-name")


@pytest.mark.detector("birth-date")
def test_dates_of_a_date_variable_are_allowed() -> None:
    result = report(rows("visit_date", "2020-01-05", "2021-03-07"), Variable("visit_date", T.DATE))
    assert not [f for f in result.findings if f.personal_data]


@pytest.mark.detector("birth-date")
def test_a_full_date_in_a_yearmonth_variable_is_an_error() -> None:
    result = report(
        rows("birth_month", "1950-03", "1950-03-12"), Variable("birth_month", T.YEARMONTH)
    )
    assert findings(result, f"{PERSONAL_DATA}.birth-date", "birth_month")
    assert findings(result, "type", "birth_month")


@pytest.mark.detector("birth-date")
def test_full_dates_in_a_column_named_for_an_event_are_a_warning() -> None:
    found = screened(
        ["2020-01-05", "2021-03-07"], "birth-date", Variable("scan_date_note", T.STRING)
    )
    assert found and found[0].severity == "warning"


@pytest.mark.detector("street-address")
def test_addresses_among_measurements() -> None:
    found = screened(["Storgata 12, 0155 Oslo", "n/a", "Calle Mayor 5"], "street-address")
    assert found and found[0].rows == 2


@pytest.mark.detector("credit-card")
def test_bare_card_numbers_alone_are_an_error() -> None:
    assert screened(["4111111111111111"], "credit-card")


# --- column names ------------------------------------------------------------------------------

NAMES = {
    "names": [
        "name",
        "Name",
        "first_name",
        "FirstName",
        "last name",
        "surname",
        "fornavn",
        "etternavn",
        "efternavn",
        "förnamn",
        "efternamn",
        "Vorname",
        "Nachname",
        "nombre",
        "apellido",
        "apellidos",
        "patient_name",
        "Familienname",
    ],
    "addresses": [
        "address",
        "home_address",
        "Adresse",
        "adresse",
        "gatuadress",
        "dirección",
        "Straße",
    ],
    "e-mail addresses": [
        "email",
        "e-mail",
        "E-Mail-Adresse",
        "e-post",
        "epost",
        "Correo",
        "correo electrónico",
    ],
    "telephone numbers": [
        "phone",
        "telephone",
        "Telefon",
        "Telefonnummer",
        "teléfono",
        "móvil",
        "mobil",
        "tlf",
        "Handynummer",
    ],
    "national identity numbers": [
        "fødselsnummer",
        "fodselsnummer",
        "Personnummer",
        "CPR",
        "CPR-nummer",
        "Steuer-ID",
        "Sozialversicherungsnummer",
        "DNI",
        "NIE",
        "NHS number",
        "ssn",
        "fnr",
    ],
    "passport numbers": ["passport", "passport_no", "pass_nr", "Reisepass", "pasaporte"],
    "IP addresses": ["ip", "IP", "ip_address", "IP-Adresse"],
    "full dates of birth": [
        "birth_date",
        "date_of_birth",
        "DOB",
        "birthday",
        "fødselsdato",
        "födelsedatum",
        "Geburtsdatum",
        "fecha de nacimiento",
        "fecha_nacimiento",
    ],
    "birthplace": [
        "birthplace",
        "place_of_birth",
        "fødested",
        "födelseort",
        "Geburtsort",
        "lugar de nacimiento",
    ],
    "login names and handles": [
        "username",
        "login",
        "brukernavn",
        "Benutzername",
        "usuario",
        "användarnamn",
        "twitter_handle",
    ],
    "genetic information": ["genotype", "SNP", "DNA", "rsid", "apoe4", "genetic_risk"],
    "fingerprints": ["fingerprint", "fingeravtrykk", "Fingerabdruck", "huella dactilar"],
    "handwriting": ["signature", "handwriting", "Unterschrift", "underskrift"],
    "face images": ["photo", "face", "Foto", "selfie", "face_image"],
    "credit card numbers": [
        "credit_card",
        "card number",
        "kortnummer",
        "Kreditkarte",
        "tarjeta",
        "IBAN",
    ],
}
NAME_CASES = [(category, name) for category, names in NAMES.items() for name in names]
HARMLESS = [
    "subject_id",
    "timepoint",
    "site",
    "test_name",
    "site_name",
    "scanner_name",
    "phone_interview",
    "telephone_interview_date",
    "mobility_score",
    "image_quality",
    "qc_pass",
    "picture_naming",
    "face_name_test",
    "birth_year",
    "birth_month",
    "yob",
    "country_of_birth",
    "fødeland",
    "age",
    "mmse_total",
    "hippocampus_vol",
    "genomsnitt",
    "visit_date",
    "cell_count",
    "nie_geraucht",
    "sex",
    "education_years",
    "handedness",
    "diagnosis",
    "comment",
]


@pytest.mark.detector("column-name")
@pytest.mark.parametrize("category,name", NAME_CASES)
def test_personal_column_names(category: str, name: str) -> None:
    hit = screen_name(name)
    assert hit is not None and hit.rule.category == category, name
    assert hit.rule.severity == "error"


@pytest.mark.detector("column-name")
@pytest.mark.parametrize("name", ["Fødselsnummer", "e-post", "Nachname", "apellidos", "DOB"])
def test_personal_column_names_in_a_report(name: str) -> None:
    result = report(rows(f'"{name}"', "x"))
    found = findings(result, f"{PERSONAL_DATA}.column-name", name)
    assert len(found) == 1 and found[0].severity == "error" and found[0].personal_data
    assert findings(result, "unknown-column", name)


@pytest.mark.detector("column-name")
@pytest.mark.parametrize("name", HARMLESS)
def test_harmless_column_names(name: str) -> None:
    assert screen_name(name) is None, name


@pytest.mark.detector("column-name")
@pytest.mark.parametrize(
    "name,words",
    [
        ("FødselsDato_2", ["fodsels", "dato", "2"]),
        ("firstName", ["first", "name"]),
        ("E-Mail-Adresse", ["e", "mail", "adresse"]),
        ("dirección", ["direccion"]),
        ("Straße", ["strasse"]),
    ],
)
def test_column_names_are_normalised(name: str, words: list[str]) -> None:
    assert normalise(name) == words


@pytest.mark.detector("column-name")
@pytest.mark.parametrize("name", ["zip", "postcode", "Postnummer", "PLZ", "código postal"])
def test_postcode_columns_are_a_warning(name: str) -> None:
    found = findings(report(rows(f'"{name}"', "0150")), f"{PERSONAL_DATA}.column-name")
    assert found and found[0].severity == "warning"


@pytest.mark.detector("column-name")
def test_dictionary_variables_are_not_screened_by_name() -> None:
    result = report(rows("apoe4", "1"), Variable("apoe4", T.INTEGER))
    assert not findings(result, f"{PERSONAL_DATA}.column-name")


@pytest.mark.detector("column-name")
def test_column_name_finding_masks_its_first_value() -> None:
    found = findings(report(rows("email", "kari@example.no")), f"{PERSONAL_DATA}.column-name")
    assert found[0].example == "k•••@•••.no" and found[0].rows == 1
