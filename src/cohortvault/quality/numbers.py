"""Finders of telephone, national identity and payment card numbers in a value: a regular
expression for the shape, then the check digits (``nationalids``)."""

from __future__ import annotations

import re

from cohortvault.quality import nationalids as ids
from cohortvault.quality.hits import Hit, digits, strong

# --- telephone numbers ------------------------------------------------------------------------

_INTERNATIONAL = re.compile(
    r"(?<![\w+])(?:\+|00)\s?(?P<cc>47|46|45|49|34|44|[1-9]\d{0,2})[\s.-]?"
    r"(?P<rest>(?:\(0\)[\s.-]?)?\d(?:[\s.()/-]?\d){5,13})(?!\d)"
)
_NATIONAL = re.compile(
    "|".join(
        [
            r"[2-9]\d \d{2} \d{2} \d{2}",
            r"[2-9]\d{2} \d{2} \d{3}",
            r"[2-9]\d{3} \d{4}",  # NO, DK
            r"0\d{1,3}[-/ ]\d{2,3}(?: ?\d{2,3}){1,2}",  # SE
            r"\(0\d{2,5}\) ?\d{3,9}",
            r"0\d{2,5}[ /-]\d{3,9}(?:[ -]\d{1,5})?",  # DE
            r"0\d{2,4} \d{3,4} ?\d{3,4}",  # UK
            r"[6-9]\d{2} \d{2} \d{2} \d{2}",
            r"[6-9]\d{2} \d{3} \d{3}",
            r"[89]\d \d{3} \d{2} \d{2}",  # ES
        ]
    )
)
_LABEL = re.compile(r"(?i)^(?:tel|tlf|telefon|phone|mobil|mobile|móvil|handy|fax)\.?:?\s*")
_LENGTHS = {"47": (8, 8), "45": (8, 8), "46": (7, 9), "49": (6, 13), "34": (9, 9), "44": (9, 10)}


def phone(value: str) -> list[Hit]:
    hits = []
    for m in _INTERNATIONAL.finditer(value):
        cc = m["cc"]
        rest = digits(m["rest"].replace("(0)", ""))
        low, high = _LENGTHS.get(cc, (7, 13))
        if cc == "34" and rest[:1] not in "6789":
            low = high + 1
        hits.append(Hit("strong" if low <= len(rest) <= high else "format", m.group()))
    if hits:
        return hits
    text = _LABEL.sub("", value.strip())
    if _NATIONAL.fullmatch(text):
        return [strong(text)]
    if re.fullmatch(r"0[1-9]\d{8,10}", text):
        return [Hit("weak", text)]
    return []


# --- national identity numbers ----------------------------------------------------------------

_FNR = re.compile(r"(?<![\d-])(\d{6}) ?(\d{5})(?!\d)")
_PERSONNUMMER = re.compile(r"(?<![\d-])(?:(18|19|20)(\d{6})|(\d{6}))([-+]?)(\d{4})(?!\d)")
_CPR = re.compile(r"(?<![\d-])(\d{6})(-?)(\d{4})(?!\d)")
_STEUER = re.compile(r"(?<![\d-])(\d{2})( ?)(\d{3})\2(\d{3})\2(\d{3})(?!\d)")
_SVNR = re.compile(r"(?<![\dA-Za-z])(\d{2}) ?(\d{6}) ?([A-Za-z]) ?(\d{3})(?![\dA-Za-z])")
_DNI = re.compile(r"(?<![\dA-Za-z.])(\d{2})(\.?)(\d{3})\2(\d{3})[ -]?([A-Za-z])(?![\dA-Za-z])")
_NIE = re.compile(r"(?<![\dA-Za-z])([XYZxyz])[ -]?(\d{7})[ -]?([A-Za-z])(?![\dA-Za-z])")
_NHS = re.compile(r"(?<![\d-])(\d{3})([ -]?)(\d{3})\2(\d{4})(?!\d)")
_CARD = re.compile(r"(?<![\d-])(\d(?:[ -]?\d){11,18})(?!\d)")


def fnr(value: str) -> list[Hit]:
    return [
        Hit("strong" if ids.fodselsnummer(m[1] + m[2]) else "format", m.group())
        for m in _FNR.finditer(value)
    ]


def personnummer(value: str) -> list[Hit]:
    hits = []
    for m in _PERSONNUMMER.finditer(value):
        century, ten = m[1] or "", (m[2] or m[3]) + m[5]
        if not ids.personnummer(ten, century=century):
            hits.append(Hit("format", m.group()))
        else:
            hits.append(Hit("strong" if century or m[4] else "weak", m.group()))
    return hits


def cpr(value: str) -> list[Hit]:
    hits = []
    for m in _CPR.finditer(value):
        dated, mod11 = ids.cpr(m[1] + m[3])
        if dated and m[2]:
            hits.append(strong(m.group(), "" if mod11 else "no mod-11 check"))
        elif mod11:
            hits.append(Hit("weak", m.group()))
        elif dated:
            hits.append(Hit("possible", m.group(), "valid date, no mod-11 check (after 2007)"))
        else:
            hits.append(Hit("format", m.group()))
    return hits


def steuer(value: str) -> list[Hit]:
    hits = []
    for m in _STEUER.finditer(value):
        valid = ids.steuer_id(m[1] + m[3] + m[4] + m[5])
        hits.append(Hit(("strong" if m[2] else "weak") if valid else "format", m.group()))
    return hits


def svnr(value: str) -> list[Hit]:
    return [
        Hit("strong" if ids.sozialversicherungsnummer("".join(m.groups())) else "format", m.group())
        for m in _SVNR.finditer(value)
    ]


def dni(value: str) -> list[Hit]:
    return [
        Hit("strong" if ids.dni(m[1] + m[3] + m[4], m[5]) else "format", m.group())
        for m in _DNI.finditer(value)
    ]


def nie(value: str) -> list[Hit]:
    return [
        Hit("strong" if ids.nie(m[1], m[2], m[3]) else "format", m.group())
        for m in _NIE.finditer(value)
    ]


def nhs(value: str) -> list[Hit]:
    hits = []
    for m in _NHS.finditer(value):
        valid = ids.nhs(m[1] + m[3] + m[4])
        hits.append(Hit(("strong" if m[2] else "weak") if valid else "format", m.group()))
    return hits


def card(value: str) -> list[Hit]:
    hits = []
    for m in _CARD.finditer(value):
        network = ids.card_network(digits(m[1]))
        grouped = bool(
            re.fullmatch(r"\d{4}([ -])\d{4}\1\d{4}\1\d{1,7}|\d{4}([ -])\d{6}\2\d{5}", m[1])
        )
        if network is None:
            hits.append(Hit("format", m.group()))
        else:
            hits.append(Hit("strong" if grouped else "weak", m.group(), network))
    return hits
