"""A version's content: one Parquet file (zstd), encrypted as a blob under the key of its site's
data area. The file's key-value metadata carries the Frictionless Table Schema of its columns
(``cohortvault.table_schema``), so a copy that leaves the platform still says what it holds.

Plain content exists only in memory: the Parquet file is written into a buffer and encrypted
from there, and read back by decrypting into a buffer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from cohortvault.access.policy import Area
from cohortvault.catalog.schema import Dictionary
from cohortvault.datasets.keys import KEY
from cohortvault.datasets.models import BLOB_PURPOSE
from cohortvault.files import services as files
from cohortvault.storage.maintenance import backend
from cohortvault.storage.models import Blob

__all__ = [
    "SCHEMA_KEY",
    "chunks",
    "discard",
    "from_parquet",
    "head",
    "load",
    "schema_of",
    "store",
    "table_schema",
    "to_parquet",
]

SCHEMA_KEY = b"cohortvault.table_schema"


def table_schema(names: list[str], dictionary: Dictionary) -> dict[str, Any]:
    """The Table Schema of the stored columns: the dictionary's field for each column it
    defines, a plain string field for the others."""
    fields = []
    for name in names:
        variable = dictionary.variable(name)
        fields.append(variable.to_field() if variable else {"name": name, "type": "string"})
    return {
        "fields": fields,
        "missingValues": list(dictionary.missing_values),
        "primaryKey": list(KEY),
        "cohortvault": {"dictionaryVersion": dictionary.version},
    }


def to_parquet(slices: Iterable[pa.Table], schema: dict[str, Any]) -> pa.Buffer:
    """Write the slices (tables with the same columns) as the row groups of one Parquet file.

    Each slice is encoded in a helper thread while the next one is made (typed, say), so the
    encoder, which uses one core, and the slices' maker work at the same time.
    """
    metadata = {SCHEMA_KEY: json.dumps(schema).encode("utf-8")}
    sink = pa.BufferOutputStream()
    writer: pq.ParquetWriter | None = None
    pending: Future[None] | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet") as encoder:
        try:
            for part in slices:
                if writer is None:
                    described = part.schema.with_metadata(metadata)
                    writer = pq.ParquetWriter(sink, described, compression="zstd")
                if pending is not None:
                    pending.result()
                pending = encoder.submit(writer.write_table, part)
            if pending is not None:
                pending.result()
        finally:
            if pending is not None:
                wait([pending])
            if writer is not None:
                writer.close()
    if writer is None:
        raise ValueError("no slices to write")
    return sink.getvalue()


def from_parquet(
    data: pa.Buffer, *, columns: list[str] | None = None, text_as_dictionary: bool = False
) -> pa.Table:
    """The table of a Parquet file. With ``text_as_dictionary``, text columns other than the
    key come as dictionary arrays, which are cheaper to read and to compare (the diff)."""
    read_dictionary = None
    if text_as_dictionary:
        schema = pq.read_schema(pa.BufferReader(data))
        read_dictionary = [
            f.name for f in schema if pa.types.is_string(f.type) and f.name not in KEY
        ]
    return pq.read_table(pa.BufferReader(data), columns=columns, read_dictionary=read_dictionary)


def schema_of(table: pa.Table) -> dict[str, Any]:
    """The Table Schema a stored table carries (an empty one if it carries none)."""
    raw = (table.schema.metadata or {}).get(SCHEMA_KEY)
    loaded: dict[str, Any] = json.loads(raw) if raw else {"fields": []}
    return loaded


def store(site: str, content: pa.Buffer) -> Blob:
    """Encrypt a Parquet file under the site data area's key; returns the blob's unsaved row.

    The caller saves the row in the transaction that refers to it, and deletes the stored
    blob (``discard``) if that transaction fails.
    """
    files.check_room(content.size)
    key_row, keys = files.area_secrets(Area.site_data(site))
    blob = files.store_blob(key_row, keys, pa.BufferReader(content), size=content.size)
    blob.purpose = BLOB_PURPOSE
    return blob


def discard(blob: Blob) -> None:
    """Delete a stored blob whose row was never committed."""
    backend().delete(blob.id.hex)


def chunks(blob: Blob) -> Iterator[bytes]:
    """The decrypted Parquet file, block by block."""
    return files.blob_chunks(blob)


def head(blob: Blob, rows: int) -> pa.Table:
    """The first ``rows`` rows, decoded without the rest (decryption still reads it all)."""
    content = pa.py_buffer(b"".join(chunks(blob)))
    parquet = pq.ParquetFile(pa.BufferReader(content))
    first = next(parquet.iter_batches(batch_size=max(rows, 1)), None)
    if first is None:
        return parquet.schema_arrow.empty_table()
    return pa.Table.from_batches([first.slice(0, rows)], schema=parquet.schema_arrow)


def load(
    blob: Blob, *, columns: list[str] | None = None, text_as_dictionary: bool = False
) -> pa.Table:
    content = pa.py_buffer(b"".join(chunks(blob)))
    return from_parquet(content, columns=columns, text_as_dictionary=text_as_dictionary)
