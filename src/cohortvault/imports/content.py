"""Reading an import's stored content back: the checked file version, decrypted as a stream,
read into a table by the quality engine, and merged into a site's current dataset."""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from typing import Any

import polars as pl
import pyarrow as pa

from cohortvault import quality
from cohortvault.files.models import FileVersion
from cohortvault.files.services import blob_chunks

KEYS = ["subject_id", "timepoint"]


class ChunkReader(io.RawIOBase):
    """A readable stream over an iterator of byte blocks (the decrypted parts of a blob)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self.chunks = chunks
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.pending:
            block = next(self.chunks, None)
            if block is None:
                return 0
            self.pending = block
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size


def read_table(
    version: FileVersion,
    filename: str,
    *,
    study: str | None,
    numbers: Mapping[str, pl.DataType] | None = None,
) -> quality.Table:
    """The stored file as the quality engine reads it (findings instead of exceptions);
    ``numbers`` only for quality control (see ``quality.read``)."""
    stream = io.BufferedReader(ChunkReader(blob_chunks(version.blob)), buffer_size=1 << 20)
    with stream:
        return quality.read(stream, filename, limits=quality.Limits(), study=study, numbers=numbers)


def as_text(table: pa.Table) -> pa.Table:
    """Every column as plain UTF-8 strings (dataset versions store typed columns)."""
    return pa.table({name: table[name].cast(pa.string()) for name in table.column_names})


def merge(current: pa.Table | None, incoming: pa.Table) -> pa.Table:
    """The next version: the incoming rows replace those with the same (subject, timepoint) in
    the columns the file has; rows and columns the file does not mention stay as they were."""
    new = pl.from_arrow(as_text(incoming))
    assert isinstance(new, pl.DataFrame)
    if current is None:
        return new.to_arrow()
    old = pl.from_arrow(as_text(current))
    assert isinstance(old, pl.DataFrame)
    kept = old.join(new.select(KEYS), on=KEYS, how="anti", nulls_equal=True)
    carried = [c for c in old.columns if c not in new.columns]
    updated = new.join(old.select(KEYS + carried), on=KEYS, how="left", nulls_equal=True)
    merged = pl.concat([kept, updated], how="diagonal")
    order = old.columns + [c for c in new.columns if c not in old.columns]
    return merged.select(order).sort(KEYS).to_arrow()
