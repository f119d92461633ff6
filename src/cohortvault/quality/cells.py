"""What the structure scan learns, chunk by chunk, for a typed read of the number columns.

Polars can read the number columns of a CSV as numbers directly, which spares quality control
most of its work (a cast of millions of strings), but two things its reader does differ from
the checks' own parse: a cell that is not a number becomes an empty cell, and a leading space
or tab is skipped (``" 10"`` reads as 10; the checks call it not a number). So the scan counts
the empty fields of the records ending in each chunk (a ``Group``); a group where the typed
frame has more empty cells than the file has empty fields is read again as text (``typed``).
Chunks with quotes (read quote by quote), a carriage return or a field starting with white
space are not counted: their groups are read again whatever the counts say (``unsure``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

CR = 13
WHITE = (32, 9)  # space, tab


@dataclass(frozen=True)
class Group:
    """The records ending in one chunk: bytes ``[start, stop)``, records ``[first, last)``
    (the header is record 0), their empty fields, and whether they must be read again."""

    start: int
    stop: int
    first: int
    last: int
    empty: int
    unsure: bool

    @property
    def rows(self) -> tuple[int, int]:
        """The frame's rows of the group's records: ``[start, stop)`` (no row for the header)."""
        return max(self.first, 1) - 1, self.last - 1


@dataclass
class Cells:
    """Fed each chunk by ``textscan.scan``; ``groups`` then holds the records chunk by chunk.

    Counting per chunk (the records that end in it) keeps the scan's cost small: a few
    vector operations and no positions. A group whose typed cells have more empty cells than
    it has empty fields holds a cell that is not a number.
    """

    delimiter: int
    eol: int
    groups: list[Group] = field(default_factory=list)
    _start: int = 0  # where the pending group starts
    _records: int = 0  # records before it
    _empty: int = 0  # its empty fields so far
    _unsure: bool = False
    _previous: int = -1  # the last byte of the chunk before

    def add(
        self,
        buffer: bytearray,
        a: npt.NDArray[np.uint8],
        is_end: npt.NDArray[np.bool_],
        offset: int,
        records: int,
        last: int,
        *,
        quoted: bool,
    ) -> None:
        """One chunk at ``offset`` (``a``: the first bytes of ``buffer``; ``is_end``: its
        line ends) in which ``records`` records end, the last at ``last``; ``quoted``: it
        has quotes, or starts inside a quoted value (such chunks are not counted, only read
        again)."""
        size = len(a)
        previous, self._previous = self._previous, int(a[-1])
        first = previous < 0 or previous in (self.delimiter, self.eol)  # a field starts at 0
        unsure = quoted or buffer.find(CR, 0, size) >= 0 or (first and a[0] in WHITE)
        empty = before = 0
        if not unsure:
            sep = is_end | (a == self.delimiter)
            unsure = _white_start(buffer, a, sep, size)
        if not unsure:
            pairs = sep[1:] & sep[:-1]
            if buffer.find(bytes((self.eol, self.eol)), 0, size) >= 0:
                pairs &= ~(is_end[1:] & is_end[:-1])  # a blank line is no empty field
            opening = int(first and bool(sep[0]) and not (previous == self.eol and is_end[0]))
            empty = int(np.count_nonzero(pairs)) + opening
            if records:  # the fields after the last line end belong to the next group
                before = empty - int(np.count_nonzero(pairs[last:]))
        if records == 0:
            self._empty += empty
            self._unsure = self._unsure or unsure
            return
        stop = offset + last + 1
        self.groups.append(
            Group(
                self._start,
                stop,
                self._records,
                self._records + records,
                self._empty + before,
                self._unsure or unsure,
            )
        )
        self._start, self._records = stop, self._records + records
        self._empty, self._unsure = empty - before, unsure

    def finish(self, size: int) -> None:
        """The file ended at ``size``: its last record, if it has no line end, is a group."""
        if self._start < size:
            records = self._records
            self.groups.append(
                Group(self._start, size, records, records + 1, self._empty, self._unsure)
            )


def _white_start(
    buffer: bytearray, a: npt.NDArray[np.uint8], sep: npt.NDArray[np.bool_], size: int
) -> bool:
    """Whether a field after the chunk's first byte starts with a space or a tab (a byte
    search first: most chunks of numbers have neither)."""
    for white in WHITE:
        if buffer.find(white, 0, size) >= 0 and bool(np.any(sep[:-1] & (a[1:] == white))):
            return True
    return False
