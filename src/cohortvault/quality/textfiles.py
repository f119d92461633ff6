"""Delimited text (CSV, TSV, semicolon, pipe): encoding and delimiter detected and reported,
the structure checked in one vectorised pass, then parsed by Polars as strings.

Encodings: UTF-8 (with or without a byte-order mark), UTF-16 (with a byte-order mark, or
recognised by its zero bytes), and the single-byte Windows-1252 and Latin-1, which
charset-normalizer tells apart; a file that mixes UTF-8 with another encoding is refused,
since some of its letters would be read wrongly. Files in UTF-16 or a single-byte encoding
are converted to a UTF-8 copy in ``workdir`` (owner-only, removed afterwards).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import charset_normalizer
import polars as pl

from cohortvault.quality import textscan, typed
from cohortvault.quality.cells import Cells
from cohortvault.quality.model import Detected, Finding, error, warning
from cohortvault.quality.tables import (
    MIB,
    Limits,
    Table,
    describe_exception,
    finish,
    too_many_columns,
    too_many_rows,
    unreadable,
)

SAMPLE = 1 * MIB
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32LE"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32BE"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8 (with byte-order mark)"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16LE"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16BE"),
)
_SINGLE_BYTE = {"cp1252": "Windows-1252", "latin_1": "ISO-8859-1 (Latin-1)"}
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
_SURROGATE = re.compile("[\udc80-\udcff]")
_NON_ASCII = re.compile("[^\x00-\x7f\udc80-\udcff]")


def read_text(
    path: Path,
    *,
    size: int,
    filename: str,
    limits: Limits,
    workdir: Path | None,
    numbers: Mapping[str, pl.DataType] | None = None,
) -> Table:
    """``numbers``: columns (by variable name) to read as numbers where that is exact (see
    ``typed``); the table then holds them as numbers, with ``texts``."""
    detected = Detected(format="csv", size=size)
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE)
    if not sample.strip(b" \t\r\n"):
        return unreadable(detected, error("read.empty", "The file is empty."))
    with contextlib.ExitStack() as temporary:
        codec, name = _unicode_encoding(sample)
        if codec is None and b"\x00" in sample:
            return unreadable(detected, _binary())
        if codec is not None and not codec.startswith("utf-8"):
            path = temporary.enter_context(_transcoded(path, codec, workdir))
            with path.open("rb") as handle:
                sample = handle.read(SAMPLE)
        text = sample.decode("utf-8", errors="replace").lstrip("\ufeff")
        findings: list[Finding] = []
        eol = "\r" if "\n" not in text and "\r" in text else "\n"
        delimiter = _delimiter(text, eol, filename)
        detected = replace(detected, encoding=name or "UTF-8", delimiter=delimiter)
        header = _header(text, delimiter, eol)
        if header is None:
            return unreadable(
                detected,
                error(
                    "read.header",
                    "The header row is missing or too long (no line end in the first MiB).",
                ),
            )
        if not any(cell.strip() for cell in header):
            return unreadable(
                detected,
                error(
                    "read.header", "The first line is empty; the header must be on the first line."
                ),
            )
        if len(header) > limits.max_columns:
            return unreadable(detected, too_many_columns(len(header), limits))
        types = typed.schema(header, numbers or {}) if codec is None else {}
        cells = Cells(ord(delimiter), ord(eol)) if types else None
        with ThreadPoolExecutor(max_workers=1) as pool:  # parse while the scan checks
            parsing = pool.submit(_parse, path, delimiter, eol, len(header), types)
            shape = textscan.scan(
                path, delimiter=delimiter, eol=eol, check_utf8=codec is None, cells=cells
            )
            frame, failure = _outcome(parsing)
        if failure is not None and types:  # whatever went wrong, the text read says it
            frame, failure, types = None, None, {}
        if shape.utf8_error_line is not None:
            outcome = _single_byte(path, shape.utf8_error_line)
            if isinstance(outcome, Finding):
                return unreadable(detected, outcome)
            codec, name, note = outcome
            findings.append(note)
            detected = replace(detected, encoding=name)
            path = temporary.enter_context(_transcoded(path, codec, workdir))
            shape = textscan.scan(path, delimiter=delimiter, eol=eol, check_utf8=False)
            frame, failure, types = None, None, {}
        problem = _structure_problem(shape, delimiter)
        if problem is not None:
            return unreadable(replace(detected, columns=len(header)), *findings, problem)
        if shape.data_rows > limits.max_rows:
            return unreadable(detected, *findings, too_many_rows(shape.data_rows, limits))
        if frame is None and failure is None:
            try:
                frame = _parse(path, delimiter, eol, len(header))
            except Exception as exc:
                failure = exc
        if frame is None:
            exact = textscan.scan(
                path, delimiter=delimiter, eol=eol, check_utf8=False, precise=True
            )
            problem = _structure_problem(exact, delimiter) or error(
                "read.malformed",
                f"The file could not be parsed as delimited text: "
                f"{describe_exception(failure or ValueError('no table'))}",
            )
            return unreadable(detected, *findings, problem)
        texts: typed.Texts | None = None
        if types and cells is not None:
            reconciled = None
            if not shape.blank_count and not shape.trailing_blank:
                reconciled = typed.reconcile(
                    frame,
                    path,
                    cells,
                    header_line=sample.split(eol.encode(), 1)[0] + eol.encode(),
                    header_empty=header.count(""),
                    parse=lambda data: _parse(data, delimiter, eol, len(header)),
                )
            if reconciled is None:
                frame = _parse(path, delimiter, eol, len(header))  # as text after all
            else:
                frame, texts = reconciled
        expected = shape.data_rows
        if frame.height not in (expected, expected + shape.trailing_blank):
            return unreadable(
                detected,
                *findings,
                error(
                    "read.malformed",
                    f"The file has "
                    f"{expected:,} records but {frame.height:,} were parsed; check "
                    "its quotes and line ends.",
                ),
            )
        return finish(frame, header, detected, findings, limits, texts=texts)
    raise AssertionError("unreachable")  # pragma: no cover - the with block always returns


def _outcome(parsing: Future[pl.DataFrame]) -> tuple[pl.DataFrame | None, BaseException | None]:
    try:
        return parsing.result(), None
    except Exception as exc:
        return None, exc


def _binary() -> Finding:
    return error(
        "read.binary",
        "The file is not text (it contains zero bytes or other "
        "control characters): it may be damaged or not a table.",
    )


def _unicode_encoding(sample: bytes) -> tuple[str | None, str | None]:
    """(codec, name to report) for UTF-8/16/32 with a byte-order mark or UTF-16 without."""
    for bom, codec, name in _BOMS:
        if sample.startswith(bom):
            return codec, name
    head = sample[: 64 * 1024]
    even, odd = head[0::2], head[1::2]
    if len(head) >= 4 and odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le", "UTF-16LE"
    if len(head) >= 4 and even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be", "UTF-16BE"
    return None, None


def _single_byte(path: Path, first_error_line: int) -> Finding | tuple[str, str, Finding]:
    """Not UTF-8: a single-byte encoding (converted, with a warning) or mixed (refused)."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
    valid = invalid = lines_before = 0
    bad_lines: list[int] = []
    evidence = b""
    undefined = False
    with path.open("rb") as handle:
        while chunk := handle.read(textscan.CHUNK):
            if chunk.isascii():
                lines_before += chunk.count(b"\n")
                continue
            decoded = decoder.decode(chunk)
            valid += len(_NON_ASCII.findall(decoded))
            for match in _SURROGATE.finditer(decoded):
                invalid += 1
                if len(bad_lines) < 3:
                    line = lines_before + decoded.count("\n", 0, match.start()) + 1
                    if line not in bad_lines:
                        bad_lines.append(line)
            if len(evidence) < 256 * 1024:
                evidence += b"\n".join(ln for ln in chunk.split(b"\n") if not ln.isascii())
            undefined = undefined or bool(_CP1252_UNDEFINED.search(chunk))
            lines_before += chunk.count(b"\n")
    if valid and invalid:
        return error(
            "read.encoding",
            "The file mixes encodings: most of it is UTF-8, but "
            f"line {', '.join(map(str, bad_lines))} has characters in another "
            "encoding (such as Windows-1252). Save the whole file as UTF-8.",
            rows=invalid,
        )
    best = charset_normalizer.from_bytes(
        evidence[: 256 * 1024], cp_isolation=list(_SINGLE_BYTE)
    ).best()
    codec = best.encoding if best is not None and best.encoding in _SINGLE_BYTE else "cp1252"
    if undefined:
        codec = "latin_1"
    letters = {c for c in evidence.decode(codec, errors="replace") if ord(c) > 127}
    shown = ", ".join(sorted(c for c in letters if c.isalpha())[:12]) or "none"
    name = _SINGLE_BYTE[codec]
    note = warning(
        "read.encoding",
        f"The file is not UTF-8 (first at line {first_error_line}); "
        f"it was read as {name}. Check that its letters read correctly: {shown}.",
        rows=invalid,
    )
    return codec, name, note


@contextlib.contextmanager
def _transcoded(path: Path, codec: str, workdir: Path | None) -> Iterator[Path]:
    """A UTF-8 copy of the file, owner-only, removed when the block ends."""
    handle, name = tempfile.mkstemp(prefix="cohortvault-qc-", suffix=".csv", dir=workdir)
    target = Path(name)
    try:
        decoder = codecs.getincrementaldecoder(codec)(errors="replace")
        with os.fdopen(handle, "wb") as out, path.open("rb") as source:
            while chunk := source.read(textscan.CHUNK):
                out.write(decoder.decode(chunk).encode("utf-8"))
            out.write(decoder.decode(b"", final=True).encode("utf-8"))
        yield target
    finally:
        target.unlink(missing_ok=True)


def _lines(text: str, eol: str, count: int) -> list[str]:
    lines = text.split(eol)
    if len(text) >= SAMPLE - 8:  # the sample cut the last line short
        lines = lines[:-1]
    return [ln.rstrip("\r") for ln in lines if ln.strip()][:count]


def _delimiter(text: str, eol: str, filename: str) -> str:
    """csv.Sniffer's choice when the first lines agree with it; else the most consistent."""
    lines = _lines(text, eol, 50)
    if not lines:
        return "\t" if filename.lower().endswith((".tsv", ".tab")) else ","
    try:
        sniffed: str | None = (
            csv.Sniffer().sniff("\n".join(lines[:20]), delimiters="".join(DELIMITERS)).delimiter
        )
    except csv.Error:
        sniffed = None
    scores: dict[str, tuple[float, int]] = {}
    for candidate in DELIMITERS:
        counts = [len(row) for row in csv.reader(lines, delimiter=candidate)]
        fields = counts[0]
        scores[candidate] = (sum(c == fields for c in counts) / len(counts), fields)
    usable = {c: s for c, s in scores.items() if s[1] > 1}
    if sniffed in usable and usable[sniffed][0] >= max(s[0] for s in usable.values()):
        return sniffed
    if usable:
        return max(usable, key=lambda c: (usable[c], -DELIMITERS.index(c)))
    return "\t" if filename.lower().endswith((".tsv", ".tab")) else ","


def _header(text: str, delimiter: str, eol: str) -> list[str] | None:
    if eol not in text and len(text) >= SAMPLE - 8:
        return None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return next(reader)
    except (StopIteration, csv.Error):
        return None


def _structure_problem(shape: textscan.Scan, delimiter: str) -> Finding | None:
    if shape.control_count:
        return (
            _binary()
            if shape.control_count > 20
            else error(
                "read.binary",
                f"{shape.control_count} control character(s) that are not text, "
                f"first on line {shape.control_line}: the file may be damaged.",
                rows=shape.control_count,
            )
        )
    if shape.unclosed_quote_line is not None:
        return error(
            "read.malformed",
            "A quoted value is never closed: it starts at or after "
            f"line {shape.unclosed_quote_line}.",
        )
    if shape.ragged_count:
        shown = "; ".join(f"line {line} has {fields}" for line, fields in shape.ragged)
        more = (
            f" ({shape.ragged_count} rows in all)" if shape.ragged_count > len(shape.ragged) else ""
        )
        return error(
            "read.ragged-rows",
            f"Rows with a different number of fields than the "
            f"header's {shape.header_fields} ({DELIMITER_NAMES[delimiter]}-separated): "
            f"{shown}{more}.",
            rows=shape.ragged_count,
            example=f"line {shape.ragged[0][0]}",
        )
    return None


def _parse(
    source: Path | io.BytesIO,
    delimiter: str,
    eol: str,
    width: int,
    types: Mapping[str, pl.DataType] | None = None,
) -> pl.DataFrame:
    """As text, but ``types`` (by position name): as numbers, a cell not one an empty cell."""
    frame = pl.read_csv(
        source,
        has_header=True,
        separator=delimiter,
        quote_char='"',
        eol_char=eol,
        infer_schema=False,
        schema_overrides=types or None,
        ignore_errors=bool(types),
        empty_string_is_null=True,
        null_values=[""],  # a quoted empty value too
        truncate_ragged_lines=False,
        raise_if_empty=False,
        new_columns=[f"c{i}" for i in range(width)],
        encoding="utf8",
    )
    if frame.width != width:
        raise ValueError(f"{frame.width} columns parsed, the header has {width}")
    return frame
