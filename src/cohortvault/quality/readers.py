"""Read an uploaded file into a ``Table``: one entry point for every accepted format.

    table = read(stream_or_path, "visit1.xlsx", limits=Limits(), study="hunt")

The format comes from the file's first bytes where they are telling (a zip archive, SPSS's
``$FL2``, Stata's ``<stata_dta>``, compressed R data) and from its name otherwise; a mismatch
is reported. Size is checked before anything is read: a path by ``stat``, a stream by its
length where it knows it, else while it is copied (never more than the limit plus one chunk)
into an owner-only temporary file in ``workdir``, removed afterwards.

Bad input gives findings, never an exception: whatever goes wrong ends as a ``read.*``
error finding and a table without data.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePath
from typing import BinaryIO

import polars as pl

from cohortvault.quality.model import Detected, Finding, error, warning
from cohortvault.quality.statfiles import read_rds, read_statistics_file
from cohortvault.quality.tables import (
    MIB,
    Limits,
    Table,
    describe_exception,
    size_text,
    unreadable,
)
from cohortvault.quality.textfiles import read_text
from cohortvault.quality.workbooks import read_xlsx

log = logging.getLogger(__name__)

Source = BinaryIO | str | os.PathLike[str]
EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".tab": "csv",
    ".txt": "csv",
    ".psv": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".sav": "sav",
    ".zsav": "sav",
    ".dta": "dta",
    ".rds": "rds",
}
LABELS = {
    "csv": "delimited text",
    "xlsx": "an XLSX workbook",
    "sav": "an SPSS data file",
    "dta": "a Stata data file",
    "rds": "an R data file",
}
ACCEPTED = "CSV/TSV, XLSX, SPSS .sav, Stata .dta or R .rds"


def read(
    source: Source,
    filename: str,
    *,
    limits: Limits | None = None,
    study: str | None = None,
    workdir: Path | None = None,
    numbers: Mapping[str, pl.DataType] | None = None,
) -> Table:
    """The file as a table of strings with what was detected, or findings saying why not.

    ``numbers`` (for quality control only, from ``numbers_of(dictionary)``): the columns a
    delimited text file may hold as numbers (see ``Table.texts``)."""
    limits = limits or Limits()
    guess = EXTENSIONS.get(PurePath(filename).suffix.lower(), "unknown")
    try:
        with _local(source, filename, limits, workdir) as local:
            if isinstance(local, Finding):
                return unreadable(Detected(format=guess), local)
            path, size = local
            return _dispatch(path, size, filename, limits, study, workdir, numbers)
    except MemoryError:
        return unreadable(
            Detected(format=guess),
            error("read.too-large", "The file is too large to check in the memory available."),
        )
    except Exception as exc:
        log.exception("reading %s failed", filename)
        return unreadable(
            Detected(format=guess),
            error("read.failed", f"The file could not be read ({describe_exception(exc)})."),
        )


def _dispatch(
    path: Path,
    size: int,
    filename: str,
    limits: Limits,
    study: str | None,
    workdir: Path | None,
    numbers: Mapping[str, pl.DataType] | None,
) -> Table:
    with path.open("rb") as handle:
        head = handle.read(16)
    named = EXTENSIONS.get(PurePath(filename).suffix.lower())
    kind, problem = _kind(head, named, filename)
    if problem is not None and problem.severity == "error":
        return unreadable(Detected(format=named or "unknown", size=size), problem)
    if kind == "csv":
        table = read_text(
            path, size=size, filename=filename, limits=limits, workdir=workdir, numbers=numbers
        )
    elif kind == "xlsx":
        table = read_xlsx(path, size=size, limits=limits, study=study)
    elif kind in ("sav", "dta"):
        table = read_statistics_file(path, kind=kind, size=size, limits=limits)  # type: ignore[arg-type]
    else:
        table = read_rds(path, size=size, limits=limits)
    if problem is not None:
        table.findings.insert(0, problem)
    return table


def magic(head: bytes, named: str | None) -> str | None:
    """The format the first bytes show, if they are telling."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "xlsx"
    if head.startswith((b"$FL2", b"$FL3")):
        return "sav"
    if head.startswith(b"<stata_dta>") or (
        len(head) >= 3 and 102 <= head[0] <= 115 and head[1] in (1, 2) and head[2] == 1
    ):
        return "dta"
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")):
        return "compressed"
    if named == "rds" and head[:2] in (b"X\n", b"A\n", b"B\n"):
        return "rds"
    if head.startswith((b"RDX2\n", b"RDX3\n", b"RDA2\n", b"RDA3\n")):
        return "rdata"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "ole"
    if head.startswith(b"%PDF"):
        return "pdf"
    return None


def _kind(head: bytes, named: str | None, filename: str) -> tuple[str, Finding | None]:
    shown = magic(head, named)
    if shown == "compressed":
        if named == "rds":
            return "rds", None
        return "", error(
            "read.format",
            f"The file is compressed (gzip, bzip2 or xz); upload the table itself ({ACCEPTED}).",
        )
    refused = {
        "rdata": "It is an R workspace (.RData); save the data frame with saveRDS() as .rds.",
        "ole": "It is a legacy Excel (.xls) or password-protected workbook; save it as .xlsx "
        "without a password.",
        "pdf": "It is a PDF document, not a data table.",
    }
    if shown in refused:
        return "", error("read.format", f"{refused[shown]} Accepted: {ACCEPTED}.")
    if shown is not None:
        if named is not None and named != shown:
            return shown, warning(
                "read.format",
                f"{filename!r} is named like {LABELS[named]} "
                f"but is {LABELS[shown]}; it was read as such.",
            )
        return shown, None
    if named in (None, "csv"):
        if named is None and not _looks_like_text(head):
            return "", error("read.format", f"Unknown file type; accepted: {ACCEPTED}.")
        return "csv", None
    return "", error(
        "read.unreadable",
        f"The file is named like {LABELS[named]} but is not one "
        "(it may be damaged, truncated or of another type).",
    )


def _looks_like_text(head: bytes) -> bool:
    return not any(b < 9 or 13 < b < 32 for b in head)


@contextlib.contextmanager
def _local(
    source: Source, filename: str, limits: Limits, workdir: Path | None
) -> Iterator[tuple[Path, int] | Finding]:
    """A path to the file on disk and its size, or why it is refused before reading."""
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            status = path.stat()
        except OSError as exc:
            yield error("read.failed", f"The file cannot be opened ({exc.strerror}).")
            return
        if not path.is_file():
            yield error("read.failed", "This is not a regular file.")
        elif status.st_size > limits.max_bytes:
            yield _too_big(status.st_size, limits)
        else:
            yield path, status.st_size
        return
    known = _stream_size(source)
    if known is not None and known > limits.max_bytes:
        yield _too_big(known, limits)
        return
    suffix = PurePath(filename).suffix.lower()[:10]
    handle, name = tempfile.mkstemp(prefix="cohortvault-qc-", suffix=suffix, dir=workdir)
    path = Path(name)
    try:
        copied = 0
        with os.fdopen(handle, "wb") as out:
            while chunk := source.read(MIB):
                copied += len(chunk)
                if copied > limits.max_bytes:
                    break
                out.write(chunk)
        if copied > limits.max_bytes:
            yield _too_big(copied, limits, at_least=True)
        else:
            yield path, copied
    finally:
        path.unlink(missing_ok=True)


def _stream_size(stream: BinaryIO) -> int | None:
    with contextlib.suppress(AttributeError, OSError, ValueError):
        status = os.fstat(stream.fileno())
        if status.st_size:
            return int(status.st_size) - int(stream.tell())
    with contextlib.suppress(AttributeError, OSError, ValueError):
        if stream.seekable():
            here = stream.tell()
            end = stream.seek(0, os.SEEK_END)
            stream.seek(here)
            return int(end - here)
    return None


def _too_big(size: int, limits: Limits, *, at_least: bool = False) -> Finding:
    more = "more than " if at_least else ""
    return error(
        "read.too-large",
        f"The file is {more}{size_text(size)}; at most "
        f"{size_text(limits.max_bytes)} is accepted. Split it.",
    )
