"""Area paths: the one place where a path typed by anyone is checked and normalised.

A path names an area and a place inside it, for example
``sites/oslo/import/visit2/cognition.csv`` is ``cognition.csv`` in folder ``visit2`` of the
import area of site ``oslo``. Every front door hands raw paths to ``parse``; nothing else
splits or joins user-supplied paths.

Refused: empty, absolute or over-long paths; ``.`` and ``..`` segments, also in look-alike
forms (fullwidth dots, one-dot leaders); separators other than ``/`` (backslash, division and
fullwidth slashes); control, format and bidirectional-override characters; trailing dots and
spaces; names reserved by Windows and the characters it cannot store. Accepted paths are in
Unicode NFC.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from cohortvault.access.policy import Area, AreaKind
from cohortvault.errors import Invalid

MAX_PATH_LENGTH = 1024
MAX_NAME_BYTES = 255
WINDOWS_RESERVED = {
    "CON", "PRN", "AUX", "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}  # fmt: skip
WINDOWS_FORBIDDEN = set('<>:"|?*')
SEPARATOR_LOOKALIKES = {"\\", "\u2215", "\u2044", "\uff0f", "\u29f8", "\u2571", "\ufe68", "\uff3c"}
CODE_CHARACTERS = set("abcdefghijklmnopqrstuvwxyz0123456789-")


@dataclass(frozen=True)
class AreaPath:
    """An area and a normalised path inside it (``""`` for the area's root)."""

    area: Area
    path: str

    @property
    def full(self) -> str:
        return f"{self.area.path}/{self.path}" if self.path else self.area.path

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1] if self.path else self.area.path.rsplit("/", 1)[-1]

    @property
    def parent(self) -> str:
        return self.path.rsplit("/", 1)[0] if "/" in self.path else ""

    def child(self, name: str) -> AreaPath:
        check_name(name)
        return AreaPath(self.area, f"{self.path}/{name}" if self.path else name)

    def __str__(self) -> str:
        return self.full


def _refuse(raw: str, why: str) -> Invalid:
    shown = raw if len(raw) <= 80 else raw[:77] + "..."
    return Invalid(f"Not a valid path: {why}.", details=[{"path": shown, "reason": why}])


def check_name(name: str) -> str:
    """Check one path segment (a file or folder name) and return it in NFC."""
    normalized = unicodedata.normalize("NFC", name)
    if not normalized:
        raise _refuse(name, "empty name (double slash?)")
    compatible = unicodedata.normalize("NFKC", normalized)
    if normalized in {".", ".."} or compatible.strip(" .") == "" or set(compatible) <= {"."}:
        raise _refuse(name, "'.' and '..' are not names")
    for char in normalized:
        category = unicodedata.category(char)
        if category in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}:
            raise _refuse(name, f"control or invisible character U+{ord(char):04X}")
        if (
            char in SEPARATOR_LOOKALIKES
            or char in "/"
            or "/" in unicodedata.normalize("NFKC", char)
        ):
            raise _refuse(name, f"separator-like character U+{ord(char):04X}")
    if WINDOWS_FORBIDDEN & set(normalized):
        raise _refuse(name, 'characters Windows cannot store (< > : " | ? *)')
    if ".." in compatible.split("/"):
        raise _refuse(name, "'..' in compatibility form")
    if normalized != normalized.strip():
        raise _refuse(name, "leading or trailing whitespace")
    if normalized.endswith("."):
        raise _refuse(name, "trailing dot")
    if len(normalized.encode("utf-8")) > MAX_NAME_BYTES:
        raise _refuse(name, f"a name is longer than {MAX_NAME_BYTES} bytes")
    if normalized.split(".", 1)[0].upper() in WINDOWS_RESERVED:
        raise _refuse(name, "a device name reserved by Windows")
    return normalized


def _check_code(raw: str, code: str, what: str) -> str:
    if not code or not set(code) <= CODE_CHARACTERS or code.startswith("-"):
        raise _refuse(raw, f"{what} {code!r} is not a valid code")
    return code


def parse(raw: str, *, requester: str = "", approved: bool = False) -> AreaPath:
    """Split and check a full path such as ``sites/oslo/import/visit2/cognition.csv``.

    ``requester`` and ``approved`` describe an export outbox, whose path alone does not say
    who may read it (the export request does).
    """
    if not isinstance(raw, str):
        raise _refuse(repr(raw), "not text")
    if "\x00" in raw:
        raise _refuse(raw, "NUL character")
    if len(raw) > MAX_PATH_LENGTH:
        raise _refuse(raw, f"longer than {MAX_PATH_LENGTH} characters")
    if raw.startswith("/") or raw.startswith("\\") or (len(raw) > 1 and raw[1] == ":"):
        raise _refuse(raw, "absolute paths are not allowed")
    text = raw[:-1] if raw.endswith("/") else raw
    if not text:
        raise _refuse(raw, "empty path")
    segments = [check_name(segment) for segment in text.split("/")]
    head, rest = segments[0], segments[1:]
    area: Area
    match head:
        case "home" if rest:
            area, rest = Area.home(rest[0]), rest[1:]
        case "sites" if len(rest) >= 2 and rest[1] in {"data", "import"}:
            site = _check_code(raw, rest[0], "site")
            area = Area.site_data(site) if rest[1] == "data" else Area.site_import(site)
            rest = rest[2:]
        case "projects" if rest:
            area, rest = Area.project(_check_code(raw, rest[0], "project")), rest[1:]
        case "logs":
            area = Area.logs()
        case "exports" if rest:
            request = _check_code(raw, rest[0], "export request")
            area = Area.export_outbox(request, requester=requester, approved=approved)
            rest = rest[1:]
        case _:
            raise _refuse(
                raw,
                "paths start with home/<user>, sites/<site>/data, sites/<site>/import, "
                "projects/<project>, logs or exports/<request>",
            )
    return AreaPath(area, "/".join(rest))


def area_of(area_root: str) -> Area:
    """The area of a stored area root such as ``sites/oslo/import``."""
    parsed = parse(area_root)
    if parsed.path:
        raise _refuse(area_root, "not an area root")
    return parsed.area


__all__ = ["MAX_PATH_LENGTH", "AreaKind", "AreaPath", "area_of", "check_name", "parse"]
