"""Tar batches: many small files packed into one stream, sent in one request."""

from __future__ import annotations

import os
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

from cohortvault.files.client.connection import MiB
from cohortvault.files.client.errors import ClientError
from cohortvault.files.client.records import TreeFile

BATCH_FILES = 1000
BATCH_BYTES = 64 * MiB
BATCH_SENDERS = 2  # batches in flight at once: the server stores one while it receives the next
SPOOL_IN_MEMORY = 8 * MiB


def sum_sizes(files: Sequence[TreeFile]) -> int:
    return sum(f.size for f in files)


@dataclass
class Packed:
    """A batch packed as a tar stream in a spooled temporary file (memory stays bounded)."""

    file: IO[bytes]
    length: int
    files: list[TreeFile]
    failed: list[tuple[str, ClientError]]

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> Packed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def pack(files: Sequence[TreeFile]) -> Packed:
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    included: list[TreeFile] = []
    failed: list[tuple[str, ClientError]] = []
    with tarfile.open(fileobj=spool, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for item in files:
            start = archive.offset
            try:
                item.name.encode("utf-8")
                with item.local.open("rb") as source:
                    info = tarfile.TarInfo(item.name)
                    info.size = os.fstat(source.fileno()).st_size
                    info.mode = 0o600
                    archive.addfile(info, source)
            except (OSError, UnicodeEncodeError) as exc:
                spool.seek(start)  # a file cut short while packing: drop its partial member
                spool.truncate()
                archive.offset = start
                failed.append((item.name, ClientError(0, "local", f"cannot read it: {exc}")))
                continue
            included.append(TreeFile(item.local, item.name, info.size))
    length = spool.tell()
    spool.seek(0)
    return Packed(spool, length, included, failed)
