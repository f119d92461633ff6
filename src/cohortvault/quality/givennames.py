"""The built-in list of common given names (``data/given_names.txt``), with accent-free
spellings added, for the free-text person-name detector."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib import resources


def _plain(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name)
    return "".join(c for c in folded if not unicodedata.combining(c))


def _load() -> frozenset[str]:
    text = (
        resources.files("cohortvault.quality").joinpath("data/given_names.txt").read_text("utf-8")
    )
    names = {
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    }
    return frozenset(names | {_plain(n) for n in names})


GIVEN_NAMES = _load()
#: Capitalised words that follow a given name without being a surname.
SURNAME_STOPWORDS = frozenset(
    [
        "Hospital",
        "Clinic",
        "Klinik",
        "Klinikk",
        "Sykehus",
        "Sjukhus",
        "Hospital",
        "Syndrome",
        "Syndrom",
        "Disease",
        "Test",
        "Scale",
        "Skala",
        "Score",
        "Street",
        "Road",
        "Gate",
        "Straße",
        "Strasse",
        "Calle",
        "Avenue",
        "Centre",
        "Center",
        "Zentrum",
        "Institute",
        "Institut",
        "University",
        "Universitet",
        "Universität",
        "Universidad",
        "School",
        "Study",
        "Studie",
        "Cohort",
        "Kohorte",
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ]
)


@cache
def given_names_gate() -> str:
    """A Polars (Rust) regex finding any listed given name as a whole word."""
    alternatives = "|".join(sorted((re.escape(n) for n in GIVEN_NAMES), key=len, reverse=True))
    return rf"\b(?:{alternatives})\b"
