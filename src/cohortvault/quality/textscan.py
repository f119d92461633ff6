"""One vectorised pass over a delimited text file: records, fields per record, blank lines,
control bytes, an unclosed quote, and whether the bytes are UTF-8.

Quoting follows RFC 4180: a double quote toggles "inside a quoted value" (a doubled quote
toggles twice), so the parity of the running count of quotes says whether a delimiter or a
line end counts. The file is read in chunks; nothing is held but the counters.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from cohortvault.quality.cells import Cells

CHUNK = 256 * 1024  # small enough that its several passes find it in the L2 cache
SHOWN = 5
QUOTE = ord('"')


@dataclass
class Scan:
    records: int = 0  # including the header; a last line without a line end counts
    header_fields: int = 0
    ragged: list[tuple[int, int]] = field(default_factory=list)  # (line, fields), first few
    ragged_count: int = 0
    blank_lines: list[int] = field(default_factory=list)  # blank records before the end
    blank_count: int = 0
    trailing_blank: int = 0  # blank records at the very end
    control_line: int | None = None  # first line with a control byte (not tab, CR or LF)
    control_count: int = 0
    unclosed_quote_line: int | None = None
    utf8_error_line: int | None = None

    @property
    def data_rows(self) -> int:
        return max(self.records - 1 - self.trailing_blank, 0)


@dataclass
class _State:
    parity: int = 0
    carry_delims: int = 0  # delimiters of the unfinished record so far
    carry_len: int = 0  # bytes of the unfinished record so far
    carry_last: int = -1  # its last byte
    lines_before: int = 0  # line ends in earlier chunks
    start_line: int = 1  # line where the unfinished record starts
    pending_blank: list[int] = field(default_factory=list)  # blank records not yet known inner


def scan(
    path: Path,
    *,
    delimiter: str,
    eol: str,
    check_utf8: bool,
    precise: bool = False,
    cells: Cells | None = None,
) -> Scan:
    """Read the file once. A chunk without quotes whose delimiter count is what its records
    need is taken as regular without locating each record; ``precise`` locates them always
    (needed only when a short and a long row could cancel out, which the parser then reports).
    ``cells``, if given, is told every chunk (see ``Cells``).
    """
    result = Scan()
    state = _State()
    offset = 0
    decoder = codecs.getincrementaldecoder("utf-8")() if check_utf8 else None
    d, e = ord(delimiter), ord(eol)
    buffer = bytearray(CHUNK)  # one buffer, refilled: no allocation per chunk
    with path.open("rb") as handle:
        while size := handle.readinto(buffer):
            chunk = memoryview(buffer)[:size]
            a = np.frombuffer(chunk, dtype=np.uint8)
            if decoder is not None and result.utf8_error_line is None and not a.max() < 128:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    result.utf8_error_line = _line_at(a, exc.start, e, state)
            is_end = a == e
            line_ends = int(np.count_nonzero(is_end))
            _controls(a, e, line_ends, state, result)
            quoted = bool(state.parity)  # the chunk starts inside a quoted value
            regular = not precise and _regular(buffer, size, a, line_ends, d, e, state, result)
            ends = None if regular else _records(a, d, e, state, result)
            if cells is not None:
                quoted = quoted or (not regular and buffer.find(QUOTE, 0, size) >= 0)
                if ends is None:
                    records, last = line_ends, buffer.rfind(e, 0, size)
                else:
                    records, last = len(ends), int(ends[-1]) if len(ends) else -1
                cells.add(buffer, a, is_end, offset, records, last, quoted=quoted)
            state.lines_before += line_ends
            offset += size
    if cells is not None:
        cells.finish(offset)
    if decoder is not None and result.utf8_error_line is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            result.utf8_error_line = state.lines_before + 1
    if state.parity:
        result.unclosed_quote_line = state.start_line
    elif state.carry_len or state.carry_delims:
        blank = state.carry_delims == 0 and state.carry_len == 1 and state.carry_last == 13
        _account(result, state, fields=state.carry_delims + 1, blank=blank, line=state.start_line)
    result.trailing_blank = len(state.pending_blank)
    return result


def _line_at(a: npt.NDArray[np.uint8], position: int, eol: int, state: _State) -> int:
    return state.lines_before + int(np.count_nonzero(a[:position] == eol)) + 1


def _controls(
    a: npt.NDArray[np.uint8], eol: int, line_ends: int, state: _State, result: Scan
) -> None:
    low = int(np.count_nonzero(a < 32))
    if low == line_ends and eol == 10:
        return  # the only bytes below 32 are the line ends
    control = (a < 32) & (a != 9) & (a != 10) & (a != 13)
    count = int(np.count_nonzero(control))
    if count:
        if result.control_line is None:
            result.control_line = _line_at(a, int(np.argmax(control)), eol, state)
        result.control_count += count


def _regular(
    buffer: bytearray,
    size: int,
    a: npt.NDArray[np.uint8],
    line_ends: int,
    d: int,
    e: int,
    state: _State,
    result: Scan,
) -> bool:
    """Account for a chunk without quotes (outside a quoted value) whose records all have the
    header's number of fields and none is blank; False if it is not such a chunk. (``buffer``
    holds the chunk in its first ``size`` bytes; its byte searches are faster than numpy's.)"""
    if state.parity or result.records == 0 or line_ends == 0:
        return False
    if buffer.find(QUOTE, 0, size) >= 0:
        return False
    last = buffer.rfind(e, 0, size)
    delimiters = int(np.count_nonzero(a == d))
    after = int(np.count_nonzero(a[last + 1 :] == d))
    needed = line_ends * (result.header_fields - 1)
    if delimiters - after + state.carry_delims != needed or result.header_fields == 1:
        return False
    _flush_blanks(state, result)
    result.records += line_ends
    state.carry_delims = after
    state.carry_len = len(a) - last - 1
    state.carry_last = int(a[-1]) if state.carry_len else -1
    state.start_line = state.lines_before + line_ends + 1
    return True


def _records(
    a: npt.NDArray[np.uint8], d: int, e: int, state: _State, result: Scan
) -> npt.NDArray[np.intp]:
    """Account for a chunk record by record; the positions of the record ends in it."""
    quotes = a == QUOTE
    if quotes.any():
        inside = (np.cumsum(quotes, dtype=np.uint8) + np.uint8(state.parity)) & 1
        state.parity = int(inside[-1])
        outside = inside == 0
        ends = np.flatnonzero((a == e) & outside)
        delims = np.flatnonzero((a == d) & outside)
    elif state.parity:
        state.carry_len += len(a)
        state.carry_last = int(a[-1])
        return np.empty(0, dtype=np.intp)
    else:
        ends = np.flatnonzero(a == e)
        delims = np.flatnonzero(a == d)
    if len(ends) == 0:
        state.carry_delims += len(delims)
        state.carry_len += len(a)
        state.carry_last = int(a[-1])
        return ends
    before = np.searchsorted(delims, ends)
    fields = np.diff(before, prepend=0) + 1
    fields[0] += state.carry_delims
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts
    lengths[0] += state.carry_len
    last_bytes = a[np.maximum(ends - 1, 0)].astype(np.int64)
    if state.carry_len and ends[0] == 0:
        last_bytes[0] = state.carry_last
    blank = (fields == 1) & ((lengths == 0) | ((lengths == 1) & (last_bytes == 13)))
    if result.records == 0:
        result.header_fields = int(fields[0])
    expected = result.header_fields
    odd = np.flatnonzero((fields != expected) & ~blank)
    for k in odd[: max(SHOWN - len(result.ragged), 0)]:
        line = state.start_line if k == 0 else _line_at(a, int(starts[k]), e, state)
        result.ragged.append((line, int(fields[k])))
    result.ragged_count += len(odd)
    blanks = np.flatnonzero(blank)
    if len(blanks):
        _blank_records(a, e, state, result, blanks, starts, len(ends))
    elif len(ends):
        _flush_blanks(state, result)
    result.records += len(ends)
    state.carry_delims = len(delims) - int(before[-1])
    state.carry_len = len(a) - int(ends[-1]) - 1
    state.carry_last = int(a[-1]) if state.carry_len else -1
    state.start_line = _line_at(a, int(ends[-1]) + 1, e, state)
    return ends


def _blank_records(
    a: npt.NDArray[np.uint8],
    e: int,
    state: _State,
    result: Scan,
    blanks: npt.NDArray[np.intp],
    starts: npt.NDArray[np.intp],
    count: int,
) -> None:
    """Blank records are pending until a non-blank record follows (then they are inner)."""
    previous = -1
    for k in blanks.tolist():
        if k != previous + 1:
            _flush_blanks(state, result)
        line = state.start_line if k == 0 else _line_at(a, int(starts[k]), e, state)
        if len(state.pending_blank) < 10 * SHOWN:
            state.pending_blank.append(line)
        else:
            state.pending_blank.append(0)
        previous = k
    if blanks[-1] != count - 1:
        _flush_blanks(state, result)


def _flush_blanks(state: _State, result: Scan) -> None:
    for line in state.pending_blank:
        if len(result.blank_lines) < SHOWN and line:
            result.blank_lines.append(line)
        result.blank_count += 1
    state.pending_blank.clear()


def _account(result: Scan, state: _State, *, fields: int, blank: bool, line: int) -> None:
    if result.records == 0:
        result.header_fields = fields
    if blank:
        state.pending_blank.append(line)
    else:
        _flush_blanks(state, result)
        if fields != result.header_fields:
            if len(result.ragged) < SHOWN:
                result.ragged.append((line, fields))
            result.ragged_count += 1
    result.records += 1
