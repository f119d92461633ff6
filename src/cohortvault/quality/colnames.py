"""The de-identification screen by column name, in English, Norwegian, Danish, Swedish, German
and Spanish.

A name is normalised before matching: camelCase split, accents dropped (ø → o, æ → ae,
ß → ss), lower case, split into words at anything that is not a letter or digit. A rule
matches when the whole name is one of its ``exact`` words (for short or ambiguous words such
as ``name``, ``dob``, ``ip``), when one of the words is one of its ``words``, when the name
without separators contains one of its ``stems`` (compounds such as ``pasientfodselsnummer``),
or, for names of persons, when a generic word for *name* comes with a word for a person
(``patient_name``, but not ``test_name``). ``unless`` words cancel a rule (``phone_interview``,
``picture_naming``). Rules are tried in order and the first match decides the category.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from cohortvault.quality.namerules import GENERIC_NAME, PERSON, RULES, NameRule

_LETTERS = str.maketrans(
    {"ø": "o", "Ø": "O", "æ": "ae", "Æ": "Ae", "ß": "ss", "đ": "d", "ð": "d", "þ": "th", "ł": "l"}
)


def normalise(column: str) -> list[str]:
    """A column name as lower-case ASCII words: 'FødselsDato_2' → ['fodsels', 'dato', '2']."""
    split = re.sub(r"(?<=[a-zà-ÿ])(?=[A-ZÀ-Þ])", " ", column.translate(_LETTERS))
    folded = unicodedata.normalize("NFKD", split)
    plain = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    return [w for w in re.split(r"[^a-z0-9]+", plain) if w]


@dataclass(frozen=True)
class NameHit:
    rule: NameRule
    term: str  # what matched


def screen_name(column: str) -> NameHit | None:
    words = normalise(column)
    letters = [w for w in words if not w.isdigit()]
    compact = "".join(letters)
    if not compact:
        return None
    for rule in RULES:
        if rule.unless & set(letters):
            continue
        term = _match(rule, letters, compact)
        if term is not None:
            return NameHit(rule, term)
    if set(letters) & GENERIC_NAME and set(letters) & PERSON:
        return NameHit(RULES[-1], "+".join(w for w in letters if w in GENERIC_NAME | PERSON))
    return None


def _match(rule: NameRule, words: list[str], compact: str) -> str | None:
    if compact in rule.exact:
        return compact
    for word in words:
        if word in rule.words:
            return word
    for stem in rule.stems:
        if stem in compact:
            return stem
    for phrase in rule.phrases:
        n = len(phrase)
        if any(tuple(words[i : i + n]) == phrase for i in range(len(words) - n + 1)):
            return " ".join(phrase)
    return None
