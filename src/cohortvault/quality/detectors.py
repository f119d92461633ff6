"""Content detectors of the de-identification screen: what personal data looks like in a cell.

Each detector has a *gate*, a regular expression in the syntax Polars (Rust's regex crate)
and Python share, which finds candidate cells in a whole column at once, and a ``find``
function that looks at one candidate value in Python and returns its hits:

- ``strong``: personal data (an e-mail address, a number with valid check digits in a telling
  format, …); any such row makes the column an error.
- ``weak``: could be chance (ten bare digits pass a mod-11 check one time in eleven); the
  column is an error when enough of its candidates are weak hits (``share``).
- ``possible``: as weak, but only a warning (a Danish CPR number after 2007, whose check
  digit need not pass mod 11).
- ``format``: has the shape but fails the check; counts towards the share's base.

The national-number detectors look at the same digits; for each value only the first of them
(in ``NUMBER_GROUP`` order) that recognises it counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from cohortvault.quality import finders, numbers, streets
from cohortvault.quality.givennames import given_names_gate
from cohortvault.quality.hits import Hit

__all__ = ["BY_NAME", "DETECTORS", "NUMBER_GROUP", "UNION_GATE", "Detector", "Hit", "scan_value"]


@dataclass(frozen=True)
class Detector:
    name: str
    category: str  # the DESIGN.md category
    rule: str  # how it decides, for messages and docs
    gate: str
    find: Callable[[str], list[Hit]]
    share: float = 0.5  # weak hits: the share of the base that makes an error
    share_of: Literal["matches", "column"] = "matches"  # base: candidates, or non-missing rows
    min_distinct: int = 1  # weak hits: distinct values needed


# --- the registry -----------------------------------------------------------------------------

_DIGITS_GATE = (
    r"\d{6}[ +-]?\d{4}|\d{3}[ -]\d{3}[ -]\d{4}|\d{2} \d{3} \d{3} \d{3}|\d{4}[ -]\d{4}[ -]\d{4}"
)
DETECTORS: tuple[Detector, ...] = (
    Detector(
        "email",
        "e-mail addresses",
        "name@domain.tld",
        r"[\w.%+'-]@[A-Za-z0-9-]+\.[A-Za-z]{2}",
        finders.email,
    ),
    Detector(
        "fodselsnummer",
        "national identity numbers",
        "Norwegian fødselsnummer, D- and H-nummer: 11 digits, valid birth date for the "
        "individual number's century, both mod-11 control digits",
        _DIGITS_GATE,
        numbers.fnr,
    ),
    Detector(
        "personnummer",
        "national identity numbers",
        "Swedish personnummer and samordningsnummer: YYMMDD[-+]NNNC or YYYYMMDDNNNC, "
        "valid date (day + 60 for samordningsnummer), Luhn; ten bare digits are weak",
        _DIGITS_GATE,
        numbers.personnummer,
    ),
    Detector(
        "cpr",
        "national identity numbers",
        "Danish CPR: DDMMYY-SSSS with a valid date (century from the 7th digit) is an "
        "error; ten bare digits are weak with mod 11, possible (a warning) without",
        _DIGITS_GATE,
        numbers.cpr,
    ),
    Detector(
        "steuer-id",
        "national identity numbers",
        "German tax ID: 11 digits, no leading 0, one digit repeated 2-3 times in the first "
        "10, ISO 7064 MOD 11,10 check digit; bare digits are weak",
        _DIGITS_GATE,
        numbers.steuer,
    ),
    Detector(
        "sozialversicherungsnummer",
        "national identity numbers",
        "German social insurance number: area, DDMMYY, initial letter, serial, check "
        "digit (weights 2,1,2,5,7,1,2,1,2,1,2,1, digit sums, mod 10)",
        r"\d{2} ?\d{6} ?[A-Za-z] ?\d{3}",
        numbers.svnr,
    ),
    Detector(
        "dni",
        "national identity numbers",
        "Spanish DNI: 8 digits and the letter TRWAGMYFPDXBNJZSQVHLCKE[number mod 23]",
        r"\d{8}[ -]?[A-Za-z]|\d{2}\.\d{3}\.\d{3}",
        numbers.dni,
    ),
    Detector(
        "nie",
        "national identity numbers",
        "Spanish NIE: X/Y/Z (as 0/1/2), 7 digits, the DNI letter of the whole",
        r"\b[XYZxyz][ -]?\d{7}[ -]?[A-Za-z]\b",
        numbers.nie,
    ),
    Detector(
        "nhs",
        "national identity numbers",
        "UK NHS number: 10 digits (3-3-4), mod-11 check digit; bare digits are weak",
        _DIGITS_GATE,
        numbers.nhs,
    ),
    Detector(
        "credit-card",
        "credit card numbers",
        "13-19 digits with a card network's issuer prefix and length, Luhn check; "
        "ungrouped digits are weak",
        r"\d{12}|\d{4}[ -]\d{4}[ -]\d{4}|\d{4}[ -]\d{6}[ -]\d{5}",
        numbers.card,
    ),
    Detector(
        "phone",
        "telephone numbers",
        "+47/+46/+45/+49/+34/+44 or 00 prefix with the country's number length, another "
        "+country number of 7-13 digits, or a whole cell in a national format with spaces "
        "or dashes (NO/DK 8 digits, SE/DE/UK with a trunk 0, ES 9 digits from 6-9); ten "
        "or more bare digits from a trunk 0 are weak",
        r"\+\s?\(?[1-9]\d|\b00[1-9]\d|\b0[1-9][\d /()-]{6,}|\(0\d{2,5}\)|\b\d{2,4} \d{2,3} \d{2,4}",
        numbers.phone,
    ),
    Detector(
        "ip-address",
        "IP addresses",
        "IPv4 dotted quad with octets up to 255 (not 0.0.0.0), or IPv6 that Python's "
        "ipaddress accepts, with :: or all eight groups",
        r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b|[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:|::[0-9A-Fa-f]{1,4}",
        finders.ip,
    ),
    Detector(
        "birth-date",
        "full dates of birth",
        "a full day-month-year date from 1900 to today (ISO, D.M.YYYY, D/M/YYYY, "
        "12 March 1950, 12. März 1950, 12 de marzo de 1950) in a column that is not a "
        "date variable of the dictionary; two-digit years are weak",
        rf"\d{{4}}[-/.]\d{{1,2}}[-/.]\d{{1,2}}|\d{{1,2}}[./-]\d{{1,2}}[./-]\d{{2}}|(?i:\d\.?\s*(?:de\s+)?(?:{finders.MONTH})|(?:{finders.MONTH})\.?\s+\d)",
        finders.dates,
    ),
    Detector("street-address", "addresses", streets.RULE, streets.GATE, finders.address),
    Detector(
        "person-name",
        "names",
        "a common given name (built-in list of the six languages) followed by a "
        "capitalised surname, or 'Surname, Given'; cells that are only a given name are "
        "weak (an error when at least 20% of the column)",
        given_names_gate(),
        finders.names,
        share=0.2,
        share_of="column",
    ),
    Detector(
        "handle",
        "login names and handles",
        "@handle (not an e-mail address)",
        r"(?:^|[\s(,;])@\w\w",
        finders.handle,
    ),
    Detector(
        "genetic",
        "genetic information",
        "rsIDs (rs12345), DNA sequences of 20+ bases, APOE genotypes (e3/e4); genotype "
        "calls (AG, A/G) are weak: an error when at least 80% of the column, 2+ distinct",
        r"\brs\d{3}|^\s*[ACGT][/|]?[ACGT]\s*$|[ACGTN]{20}|[acgtn]{20}|(?i:[eε][234]\s*/?\s*[eε][234])",
        finders.genetic,
        share=0.8,
        share_of="column",
        min_distinct=2,
    ),
    Detector(
        "image",
        "face images and other binary data",
        "data: URIs, base64 of JPEG/PNG/GIF, JPEG/PNG magic bytes (raw or hex), base64 "
        "runs of 200+ characters",
        r"data:[a-z]+/|/9j/4|iVBORw0KGgo|R0lGODlh|(?i:ffd8ffe|89504e47)|ÿØÿ|[A-Za-z0-9+/]{200}"
        "|[\u0089‰]PNG",
        finders.image,
    ),
)
BY_NAME = {d.name: d for d in DETECTORS}
NUMBER_GROUP = (
    "fodselsnummer",
    "personnummer",
    "cpr",
    "steuer-id",
    "sozialversicherungsnummer",
    "dni",
    "nie",
    "nhs",
    "credit-card",
    "phone",
)
UNION_GATE = "|".join(f"(?:{d.gate})" for d in DETECTORS)


def scan_value(value: str, *, skip: frozenset[str] = frozenset()) -> dict[str, list[Hit]]:
    """Every detector's hits in one value; of the number group only the first that knows it,
    and no person name that is part of a street address (Karl Johans gate 1)."""
    found: dict[str, list[Hit]] = {}
    claimed = False
    for detector in DETECTORS:
        if detector.name in skip:
            continue
        hits = detector.find(value)
        if not hits:
            continue
        if detector.name in NUMBER_GROUP:
            real = any(h.strength != "format" for h in hits)
            if claimed and real:
                continue
            claimed = claimed or real
        found[detector.name] = hits
    if "street-address" in found and "person-name" in found:
        streets_found = " ".join(h.text for h in found["street-address"])
        names = [h for h in found["person-name"] if h.text.split()[-1] not in streets_found]
        if names:
            found["person-name"] = names
        else:
            del found["person-name"]
    return found
