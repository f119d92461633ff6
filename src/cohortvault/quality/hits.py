"""What a content detector finds in one value."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Strength = Literal["strong", "weak", "possible", "format"]


@dataclass(frozen=True)
class Hit:
    strength: Strength
    text: str  # the part of the value that matched
    note: str = ""


def strong(text: str, note: str = "") -> Hit:
    return Hit("strong", text, note)


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)
