"""Masked examples: enough of a value to recognise its kind, never the value itself.

    mask("kari.nordmann@example.no")  -> "k•••@•••.no"
    mask("01019012345")               -> "01•••••••45"
    mask("Kari")                      -> "K••i"

Values of ten or more characters keep their first and last two, shorter ones their first and
last, and three or fewer only the first; e-mail addresses keep the first character and the
top-level domain. The result never contains the whole value.
"""

from __future__ import annotations

import re

BULLET = "•"
_EMAIL = re.compile(r"(?P<local>[^@\s]+)@(?P<domain>[^@\s]+)\.(?P<tld>[A-Za-z]{2,24})")


def mask(value: str) -> str:
    value = value.strip()
    email = _EMAIL.fullmatch(value)
    masked = (
        f"{email['local'][0]}{BULLET * 3}@{BULLET * 3}.{email['tld']}" if email else _middle(value)
    )
    if value and value in masked:  # only for values made of bullets and the like
        return ""
    return masked


def _middle(value: str) -> str:
    n = len(value)
    if n <= 3:
        return value[:1] + BULLET * (n - 1) if n > 1 else BULLET * n
    keep = 2 if n >= 10 else 1
    return value[:keep] + BULLET * (n - 2 * keep) + value[-keep:]


def shorten(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
