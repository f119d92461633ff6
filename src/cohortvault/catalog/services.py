"""The data dictionary's doors: read it, compare versions, import a new version, export and
publish it. Every front door (pages, API, command line) and every other domain (quality
control of imports) comes through here.

Who may do what is the common area's rule, because the dictionary is the common area's
first document: everyone who may read ``logs/`` (every account) reads the dictionary, and
whoever may write ``logs/`` (the data manager, and the system) changes it. So no new facility is
needed in the policy, and the published copies in ``logs/data-dictionary/`` are readable and
writable by exactly the same people as the dictionary itself.

Reads take an optional ``principal``: front doors always pass the caller's and are refused
like any other read; other domains' services, which act for the platform after checking their
own caller, may leave it out. Reads are not audited (the dictionary holds no individual-level
data and is the same for everyone); refusals, imports, failed imports and publications are.
"""

from __future__ import annotations

import dataclasses
import io
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction

from cohortvault.access.guard import authorize
from cohortvault.access.policy import Action, Area, Principal, decide
from cohortvault.audit.trail import Outcome, record
from cohortvault.catalog import formats, markdown, validation
from cohortvault.catalog.diff import DictionaryDiff, compare
from cohortvault.catalog.formats import Format
from cohortvault.catalog.models import DictionaryVersion, checksum_of, schema_text
from cohortvault.catalog.schema import Dictionary, Variable
from cohortvault.catalog.validation import Problem
from cohortvault.consortium.models import Site, Timepoint
from cohortvault.errors import CohortvaultError, Conflict, Invalid, NotFound, PermissionDenied
from cohortvault.files import services as files

__all__ = [
    "MAX_DICTIONARY_BYTES",
    "MAX_NOTE",
    "PUBLISHED_FILES",
    "DictionaryDiff",
    "Format",
    "HistoryEntry",
    "Problem",
    "VersionInfo",
    "current",
    "diff",
    "export_dictionary",
    "file_of",
    "history",
    "import_dictionary",
    "may_change",
    "publish",
    "search",
    "version",
    "version_info",
    "versions",
]

#: The largest dictionary file accepted (thousands of variables fit in far less).
MAX_DICTIONARY_BYTES = 4 * 1024 * 1024
MAX_NOTE = 1000
PUBLISHED_FOLDER = "logs/data-dictionary"
PUBLISHED_FILES = tuple(
    f"{PUBLISHED_FOLDER}/data-dictionary.{ext}" for ext in ("json", "csv", "xlsx", "md")
)
TARGET = "data dictionary"


@dataclass(frozen=True)
class VersionInfo:
    number: int
    created_by: str
    created_at: datetime
    note: str
    checksum: str
    variables: int
    warnings: tuple[str, ...] = ()


def _info(row: DictionaryVersion, warnings: tuple[str, ...] = ()) -> VersionInfo:
    return VersionInfo(
        number=row.number,
        created_by=row.created_by,
        created_at=row.created_at,
        note=row.note,
        checksum=row.checksum,
        variables=len(row.table_schema.get("fields", [])),
        warnings=warnings,
    )


# --- who may ---------------------------------------------------------------------------------


def _may_read(principal: Principal | None) -> None:
    if principal is not None:
        authorize(principal, Action.READ, Area.logs(), target=TARGET)


def may_change(principal: Principal) -> bool:
    """Whether to offer the import form; the services decide again when it is used."""
    return decide(principal, Action.WRITE, Area.logs()).allowed


def _may_change(principal: Principal) -> None:
    decision = decide(principal, Action.WRITE, Area.logs())
    try:
        authorize(principal, Action.WRITE, Area.logs(), target=TARGET)
    except PermissionDenied:
        raise PermissionDenied(
            f"Only the data manager changes the data dictionary ({decision.reason})."
        ) from None


# --- reading ---------------------------------------------------------------------------------


def _row(number: int | None) -> DictionaryVersion:
    rows = DictionaryVersion.objects.all()
    row = rows.filter(number=number).first() if number is not None else rows.first()
    if row is None:
        if number is None:
            raise NotFound("No data dictionary has been imported yet.")
        raise NotFound(f"The data dictionary has no version {number}.")
    return row


def _load(row: DictionaryVersion) -> Dictionary:
    if not row.intact:
        raise Conflict(
            f"Version {row.number} of the data dictionary does not match its checksum: it was "
            "changed outside cohortvault. Restore it from a backup."
        )
    return Dictionary.from_table_schema(row.table_schema, version=row.number)


def current(principal: Principal | None = None) -> Dictionary:
    """The current dictionary (the highest version); ``NotFound`` before the first import."""
    _may_read(principal)
    return _load(_row(None))


def version(number: int, principal: Principal | None = None) -> Dictionary:
    _may_read(principal)
    return _load(_row(number))


def version_info(number: int | None = None, principal: Principal | None = None) -> VersionInfo:
    """Who made a version (the current one without ``number``), when, and why."""
    _may_read(principal)
    return _info(_row(number))


def versions(principal: Principal | None = None) -> list[VersionInfo]:
    """Every version, newest first."""
    _may_read(principal)
    return [_info(row) for row in DictionaryVersion.objects.all()]


@dataclass(frozen=True)
class HistoryEntry:
    info: VersionInfo
    changes: DictionaryDiff | None  # from the version before; None for the first


def history(principal: Principal | None = None) -> list[HistoryEntry]:
    """Every version with what it changed from the one before, newest first."""
    _may_read(principal)
    entries = []
    previous: Dictionary | None = None
    for row in DictionaryVersion.objects.order_by("number"):
        loaded = _load(row)
        changes = compare(previous, loaded) if previous is not None else None
        entries.append(HistoryEntry(_info(row), changes))
        previous = loaded
    return entries[::-1]


def diff(old: int, new: int, *, principal: Principal | None = None) -> DictionaryDiff:
    """What changed from version ``old`` to version ``new`` (either may be the later one)."""
    _may_read(principal)
    return compare(_load(_row(old)), _load(_row(new)))


def export_dictionary(
    number: int | None, format: Format | str, *, principal: Principal | None = None
) -> bytes:
    """A version (the current one without ``number``) as a JSON, CSV or XLSX file."""
    _may_read(principal)
    return formats.write(_load(_row(number)), _format(format))


def file_of(dictionary: Dictionary, format: Format | str) -> bytes:
    """A dictionary (say, one built in code) as the file ``import_dictionary`` reads."""
    return formats.write(dictionary, _format(format))


def search(
    dictionary: Dictionary, *, text: str = "", domain: str = "", sensitivity: str = ""
) -> list[Variable]:
    """The variables whose name, label or description hold every word of ``text``, in the
    given domain and of the given sensitivity (empty: any)."""
    words = text.lower().split()
    found = []
    for v in dictionary.variables:
        haystack = f"{v.name} {v.label} {v.description}".lower()
        if domain and (v.domain or "other") != domain:
            continue
        if sensitivity and v.sensitivity != sensitivity:
            continue
        if all(word in haystack for word in words):
            found.append(v)
    return found


def _format(value: Format | str) -> Format:
    try:
        return Format.of(value)
    except ValueError as exc:
        raise Invalid(str(exc)) from None


# --- changing --------------------------------------------------------------------------------


def import_dictionary(
    principal: Principal, data: bytes, *, format: Format | str, note: str = ""
) -> VersionInfo:
    """Check a dictionary file and store it as the next version, then publish it.

    Every problem is reported at once (``Invalid`` with one detail per problem, each naming
    its row or field, variable and property) and nothing is stored. A file identical to the
    current version is refused (``Conflict``). The import and its publication in ``logs/``
    are one transaction: either both happen or neither does.
    """
    _may_change(principal)
    try:
        dictionary, warnings, note = _checked(data, format, note)
        with transaction.atomic():
            row = _store(principal, dictionary, note, warnings)
            _publish(Principal.system(), row)
    except CohortvaultError as exc:
        with transaction.atomic():
            record(
                "dictionary.import",
                actor=principal,
                outcome=Outcome.FAILED,
                target=TARGET,
                reason=exc.message,
                details={"problems": len(exc.details), "size": len(data)},
            )
        raise
    return _info(row, warnings)


def _checked(
    data: bytes, format: Format | str, note: str
) -> tuple[Dictionary, tuple[str, ...], str]:
    if len(data) > MAX_DICTIONARY_BYTES:
        raise Invalid(f"A dictionary file is at most {MAX_DICTIONARY_BYTES // 2**20} MiB.")
    note = " ".join(note.split())
    if len(note) > MAX_NOTE:
        raise Invalid(f"The note is longer than {MAX_NOTE} characters.")
    if any(unicodedata.category(ch) == "Cc" for ch in note):
        raise Invalid("The note holds control characters.")
    parsed = formats.read(data, _format(format))
    dictionary = validation.check(parsed, version=0)
    return dictionary, (*parsed.warnings, *_unknown_codes(dictionary)), note


def _unknown_codes(dictionary: Dictionary) -> list[str]:
    """Warnings for expected sites and timepoints the consortium does not (yet) have."""
    known = {
        "sites": set(Site.objects.values_list("code", flat=True)),
        "timepoints": set(Timepoint.objects.values_list("code", flat=True)),
    }
    warnings = []
    for prop, noun in (("sites", "Sites"), ("timepoints", "Timepoints")):
        unknown: dict[str, list[str]] = {}
        for v in dictionary.variables:
            for code in getattr(v, prop):
                if code not in known[prop]:
                    unknown.setdefault(code, []).append(v.name)
        if unknown:
            names = sorted({name for names in unknown.values() for name in names})
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            warnings.append(
                f"{noun} the consortium does not have (yet): {', '.join(sorted(unknown))}; "
                f"expected by {shown}."
            )
    return warnings


def _store(
    principal: Principal, dictionary: Dictionary, note: str, warnings: tuple[str, ...]
) -> DictionaryVersion:
    latest = DictionaryVersion.objects.select_for_update().first()
    number = latest.number + 1 if latest else 1
    if latest is not None and compare(_load(latest), dictionary).empty:
        raise Conflict(f"The file is identical to version {latest.number}; nothing was stored.")
    schema = dataclasses.replace(dictionary, version=number).to_table_schema()
    try:
        with transaction.atomic():
            row = DictionaryVersion.objects.create(
                number=number,
                schema=schema_text(schema),
                checksum=checksum_of(schema),
                created_by=principal.username,
                note=note,
            )
    except IntegrityError:
        raise Conflict("Another version was stored at the same moment; try again.") from None
    changes = compare(_load(latest), _load(row)).summary() if latest else "first version"
    record(
        "dictionary.import",
        actor=principal,
        target=TARGET,
        reason=note,
        details={
            "version": number,
            "variables": len(dictionary.variables),
            "checksum": row.checksum,
            "changes": changes,
            "warnings": len(warnings),
        },
    )
    return row


def publish(principal: Principal) -> list[str]:
    """Write the current version into the common area (JSON, CSV, XLSX and a Markdown page);
    returns the paths written. Imports do this themselves; this is for publishing again."""
    _may_change(principal)
    row = _row(None)
    with transaction.atomic():
        return _publish(principal, row)


def _publish(principal: Principal, row: DictionaryVersion) -> list[str]:
    dictionary = _load(row)
    page = markdown.render(
        dictionary,
        created_at=row.created_at,
        created_by=row.created_by,
        note=row.note,
        checksum=row.checksum,
    ).encode("utf-8")
    contents = [*(formats.write(dictionary, fmt) for fmt in Format), page]
    written = []
    for path, content in zip(PUBLISHED_FILES, contents, strict=True):
        files.write_file(principal, path, io.BytesIO(content), size=len(content))
        written.append(path)
    record(
        "dictionary.publish",
        actor=principal,
        target=PUBLISHED_FOLDER,
        details={"version": row.number, "files": len(written)},
    )
    return written
