"""Street addresses in English, Norwegian, Danish, Swedish, German and Spanish.

A house number with a street word (``221B Baker Street``, ``Storgata 12``, ``Karl Johans gate
1``, ``Nørregade 12``, ``Drottninggatan 5``, ``Hauptstr. 5``, ``Calle Mayor 5``), or a street
word followed by a postcode (``Parkveien, 0350 Oslo``). Street words that end common words
(``-gate`` as in *aggregate*, ``-ring`` as in *spring*, ``-alle`` as in *Halle*) are only
taken as separate words.
"""

from __future__ import annotations

import re

_UPPER = "A-ZÆØÅÄÖÜÉÁÍÓÚÑ"
_LOWER = "a-zæøåäöüßéèáíóúñ"
_EN_WORDS = (
    "Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Close|Way|Court|Ct|Place|Pl|"
    "Crescent|Cres|Terrace|Gardens|Square|Sq|Boulevard|Blvd|Mews"
)
_SUFFIXES = (
    "gata|gaten|gatan|veien|vei|vegen|veg|vej|vejen|gade|vænget|allé|allee|plass|plads|"
    "torget|torv|stræde|straße|strasse|str\\.|weg|platz|gasse|gränd|vägen|väg|stien"
)
_SEPARATE = "gate|gata|gt\\.|vei|veg|vej|gade|allé|alle|plass|plads|straße|strasse|str\\.|weg|platz"
_ES_WORDS = (
    "Calle|C/|Avenida|Avda\\.?|Av\\.|Plaza|Pza\\.?|Paseo|Pº|Camino|Carretera|Ctra\\.?|"
    "Travesía|Ronda|Glorieta|Rambla|Carrer"
)
_NUMBER = r"\d{1,4}\s?[A-Za-z]?\b"
_POSTCODE = r"(?:\d{4,5}|\d{3} \d{2}|[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2})"

PATTERN = re.compile(
    "|".join(
        [
            rf"\b\d{{1,5}}[A-Za-z]?,?\s+(?:[A-Z][\w'.-]*\s+){{1,3}}(?:{_EN_WORDS})\b\.?",
            rf"\b[{_UPPER}][{_LOWER}.-]*(?:{_SUFFIXES})\s+{_NUMBER}",
            rf"\b[{_UPPER}][{_LOWER}-]+s?\s+(?i:{_SEPARATE})\s+{_NUMBER}",
            rf"\b(?:{_ES_WORDS})\s+(?:de\s+(?:la\s+|los\s+|las\s+)?)?[{_UPPER}][\w'.-]*"
            rf"(?:\s+[\w'.-]+){{0,4}}?,?\s*(?:n[ºo°]\.?\s*)?\d{{1,4}}\b",
            rf"\b[{_UPPER}][{_LOWER}.-]*(?:{_SUFFIXES})(?!\w),?\s+{_POSTCODE}\s+[{_UPPER}]",
            rf"\b(?:{_EN_WORDS}),\s+{_POSTCODE}\b",
        ]
    )
)
GATE = (
    rf"\d\w?,?\s+(?:[A-Z]\S*\s+){{1,3}}(?:{_EN_WORDS})\b|(?i:{_SUFFIXES}),?\s+\d"
    rf"|\b(?i:{_SEPARATE})\s+\d|\b(?:{_ES_WORDS})\s|(?:{_EN_WORDS}),\s+[A-Z0-9]"
)
RULE = (
    "a house number with a street word (Street, Road …; -gata, -veien, -vej, -gade, "
    "-gatan, -vägen, -straße, -weg, -platz …; Calle, Avenida, Plaza …), or a street word "
    "followed by a postcode"
)


def find(value: str) -> list[str]:
    return [m.group().strip() for m in PATTERN.finditer(value)]
