"""Hostile paths every front door must refuse without touching anything outside the area.

Each payload is written relative to a folder the attacker may write (``sites/oslo/import``);
none of them may land anywhere else. Some are refused as invalid, some resolve to a harmless
name inside the folder; ``escapes`` decides which outcome counts as an escape.
"""

from __future__ import annotations

BASE = "sites/oslo/import"

PAYLOADS = [
    "../data/evil.csv",
    "../../berlin/import/evil.csv",
    "../../../etc/passwd",
    "a/../../data/evil.csv",
    "a/./../b",
    "./evil.csv",
    "..",
    ".",
    "...",
    "a/../..",
    "/etc/passwd",
    "//etc/passwd",
    "\\\\server\\share\\evil",
    "..\\..\\data\\evil.csv",
    "a\\..\\..\\evil",
    "C:\\Windows\\win.ini",
    "C:/Windows/win.ini",
    "%2e%2e/data/evil.csv",
    "%2e%2e%2fdata%2fevil.csv",
    "%252e%252e/data/evil.csv",
    "..%2fdata%2fevil.csv",
    "..%5cdata%5cevil.csv",
    "%c0%ae%c0%ae/data/evil.csv",
    "%e0%80%ae%e0%80%ae/evil",
    "..;/data/evil.csv",
    "evil.csv\x00.txt",
    "evil\x00/../../data/x",
    "a/\x00",
    "\u2025/data/evil.csv",
    "\uff0e\uff0e/data/evil.csv",
    "\u2024\u2024/data/evil.csv",
    "..\u2215data\u2215evil.csv",
    "..\uff0fdata\uff0fevil.csv",
    "..\u2044data",
    "a\u202e.csv",
    "evil\u200b.csv",
    "\ufeffevil.csv",
    "evil\r\n.csv",
    "evil\t.csv",
    "evil\x1b[31m.csv",
    "a//b.csv",
    "a/ /b.csv",
    " evil.csv",
    "evil.csv ",
    "evil.",
    "CON",
    "nul.txt",
    "COM1.csv",
    "a/" + "x" * 300,
    "/".join(["deep"] * 300),
    "x" * 2000,
    "~/../../data/evil.csv",
    "${HOME}/../evil",
    "....//....//data/evil.csv",
    ".../.../data",
    "a/..",
    "a/../",
    "\\..\\data",
    "file:///etc/passwd",
]

#: Names that are odd but harmless: they stay inside the folder as literal names.
HARMLESS = {
    "%2e%2e/data/evil.csv",
    "%2e%2e%2fdata%2fevil.csv",
    "%252e%252e/data/evil.csv",
    "..%2fdata%2fevil.csv",
    "..%5cdata%5cevil.csv",
    "%c0%ae%c0%ae/data/evil.csv",
    "%e0%80%ae%e0%80%ae/evil",
    "..;/data/evil.csv",
}


def stays_inside(stored_path: str) -> bool:
    """A stored file counts as contained when its full path is under BASE."""
    return stored_path.startswith(BASE + "/")
