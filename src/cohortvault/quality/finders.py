"""Finders of e-mail addresses, handles, IP addresses, full dates, person names, genetic data,
images and street addresses in a value."""

from __future__ import annotations

import datetime as dt
import ipaddress
import itertools
import re

from cohortvault.quality import nationalids as ids
from cohortvault.quality import streets
from cohortvault.quality.givennames import GIVEN_NAMES, SURNAME_STOPWORDS
from cohortvault.quality.hits import Hit, strong

# --- e-mail, handles, IP addresses ------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![\w.+'-])[\w.%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}(?![\w-])"
)
_HANDLE = re.compile(r"(?:^|(?<=[\s(,;]))@[A-Za-z0-9_][A-Za-z0-9_.]{1,29}(?![\w@])")
_IPV4 = re.compile(r"(?<![\d.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_IPV6 = re.compile(r"(?<![\w:])([0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7})(?![\w:])")


def email(value: str) -> list[Hit]:
    return [strong(m.group()) for m in _EMAIL.finditer(value)]


def handle(value: str) -> list[Hit]:
    return [strong(m.group()) for m in _HANDLE.finditer(value)]


def ip(value: str) -> list[Hit]:
    hits = []
    for m in _IPV4.finditer(value):
        octets = [int(g) for g in m.groups()]
        if all(o <= 255 for o in octets) and octets not in ([0] * 4, [255] * 4):
            hits.append(strong(m.group(), "IPv4"))
    for m in _IPV6.finditer(value):
        text = m.group(1)
        if ("::" in text or text.count(":") == 7) and re.search(r"[0-9A-Fa-f]", text):
            try:
                ipaddress.IPv6Address(text)
            except ValueError:
                continue
            hits.append(strong(text, "IPv6"))
    return hits


# --- dates of birth ---------------------------------------------------------------------------

_MONTHS = {
    **dict.fromkeys(["jan", "january", "januar", "januari", "enero", "ene"], 1),
    **dict.fromkeys(["feb", "february", "februar", "februari", "febrero"], 2),
    **dict.fromkeys(["mar", "march", "mars", "märz", "marz", "marts", "marzo"], 3),
    **dict.fromkeys(["apr", "april", "abril", "abr"], 4),
    **dict.fromkeys(["may", "mai", "maj", "mayo"], 5),
    **dict.fromkeys(["jun", "june", "juni", "junio"], 6),
    **dict.fromkeys(["jul", "july", "juli", "julio"], 7),
    **dict.fromkeys(["aug", "august", "augusti", "agosto", "ago"], 8),
    **dict.fromkeys(["sep", "sept", "september", "septiembre", "setiembre"], 9),
    **dict.fromkeys(["oct", "okt", "october", "oktober", "octubre"], 10),
    **dict.fromkeys(["nov", "november", "noviembre"], 11),
    **dict.fromkeys(
        ["dec", "des", "dez", "december", "desember", "dezember", "diciembre", "dic"], 12
    ),
}
MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ISO = re.compile(r"(?<![\d.])(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?![\d.]|-\d)")
_DMY = re.compile(r"(?<![\d.])(\d{1,2})[./-](\d{1,2})[./-](\d{4}|\d{2})(?![\d.]|-\d)")
_WORDS = re.compile(
    rf"(?i)(?<!\d)(\d{{1,2}})\.?\s*(?:de\s+)?({MONTH})\.?,?\s*(?:de\s+)?(\d{{4}})(?!\d)"
    rf"|(?<![a-zäöå])({MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?!\d)"
)


def _plausible(year: int, month: int, day: int) -> bool:
    return 1900 <= year <= dt.date.today().year and ids.valid_date(year, month, day)


def dates(value: str) -> list[Hit]:
    hits = []
    for m in _ISO.finditer(value):
        ok = _plausible(int(m[1]), int(m[2]), int(m[3]))
        hits.append(Hit("strong" if ok else "format", m.group()))
    for m in _DMY.finditer(value):
        day, month, year = int(m[1]), int(m[2]), m[3]
        full = len(year) == 4
        years = [int(year)] if full else [1900 + int(year), 2000 + int(year)]
        ok = any(_plausible(y, month, day) or _plausible(y, day, month) for y in years)
        hits.append(Hit(("strong" if full else "weak") if ok else "format", m.group()))
    for m in _WORDS.finditer(value):
        if m[1]:
            day, month, year = int(m[1]), _MONTHS[m[2].lower()], int(m[3])
        else:
            day, month, year = int(m[5]), _MONTHS[m[4].lower()], int(m[6])
        hits.append(Hit("strong" if _plausible(year, month, day) else "format", m.group()))
    return hits


# --- person names, genetic data, images -------------------------------------------------------

_WORD = re.compile(
    r"[A-ZÆØÅÄÖÜÉÈÁÍÓÚÑ][a-zæøåäöüéèáíóúñß]+(?:-[A-ZÆØÅÄÖÜÉÁÍÓÚÑ][a-zæøåäöüéèáíóúñß]+)?"
)
_PARTICLES = frozenset(
    {"von", "van", "de", "del", "la", "las", "los", "y", "da", "di", "der", "den"}
)


def names(value: str) -> list[Hit]:
    text = value.strip()
    if text.isupper() and len(text) > 3:
        text = text.title()
    if text in GIVEN_NAMES:
        return [Hit("weak", text)]
    reversed_name = re.fullmatch(r"([^\W\d_][\w'-]+),\s*([^\W\d_][\w'-]+)(?:\s+\w\.?)?", text)
    if reversed_name and reversed_name[2] in GIVEN_NAMES and reversed_name[1][0].isupper():
        return [strong(text)]
    words = list(_WORD.finditer(text))
    for first, second in itertools.pairwise(words):
        between = text[first.end() : second.start()].split()
        given = first.group().split("-")[0]
        if given not in GIVEN_NAMES or second.group() in SURNAME_STOPWORDS or len(between) > 3:
            continue
        if all(w in _PARTICLES or re.fullmatch(r"[A-Z]\.?", w) for w in between):
            return [strong(f"{first.group()} {second.group()}")]
    return []


_GENOTYPE = re.compile(r"[ACGT][/|]?[ACGT]")
_APOE = re.compile(r"(?i)(?:apoe[\s-]*)?[eε]([234])\s*/?\s*[eε]([234])")
_SEQUENCE = re.compile(r"[ACGTN]{20,}|[acgtn]{20,}")
_RSID = re.compile(r"(?<![A-Za-z0-9])rs\d{3,10}(?!\d)")


def genetic(value: str) -> list[Hit]:
    text = value.strip()
    hits = [strong(m.group(), "rsID") for m in _RSID.finditer(text)]
    hits += [strong(m.group(), "DNA sequence") for m in _SEQUENCE.finditer(text)]
    if _APOE.fullmatch(text):
        hits.append(strong(text, "APOE genotype"))
    if _GENOTYPE.fullmatch(text):
        hits.append(Hit("weak", text, "genotype call"))
    return hits


_IMAGE = re.compile(
    r"data:(?:image|video|application)/[\w.+-]+;base64,|/9j/4|iVBORw0KGgo|R0lGODlh|"
    r"(?i:ffd8ffe[0-9a-f]|89504e470d0a1a0a)|ÿØÿ|[\u0089‰]PNG"
)
_BASE64 = re.compile(r"[A-Za-z0-9+/]{200,}={0,2}")


def image(value: str) -> list[Hit]:
    hits = [strong(m.group(), "image data") for m in _IMAGE.finditer(value)]
    if not hits and not _SEQUENCE.search(value):
        hits = [strong(m.group()[:40], "base64 data") for m in _BASE64.finditer(value)]
    return hits


def address(value: str) -> list[Hit]:
    return [strong(text) for text in streets.find(value)]
