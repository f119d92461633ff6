"""Where encrypted bytes live: the ``BlobBackend`` protocol and ``LocalBlobBackend``, which
keeps them in the data directory, with the block size and the errors of the blob store."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Protocol

from cohortvault.errors import CohortvaultError, Invalid
from cohortvault.storage.keyfile import fsync_directory

BLOCK = 1024 * 1024
QUEUE_DEPTH = 8


class BlobCorrupt(CohortvaultError):
    status = 500
    code = "blob_corrupt"
    default_message = "Stored content failed its integrity check."


class TooLarge(Invalid):
    status = 413
    code = "too_large"
    default_message = "The upload is larger than allowed."


class Incomplete(Invalid):
    code = "incomplete"
    default_message = "The upload ended before all its bytes arrived; nothing was stored."


class BlobBackend(Protocol):
    def part_writer(
        self, blob_id: str, part: int, *, durable: bool = True
    ) -> contextlib.AbstractContextManager[IO[bytes]]:
        """A file to write one encrypted part into; published atomically when the block ends
        without error, discarded otherwise. ``durable=False`` skips the fsyncs for callers
        that sync a whole batch at once (``sync``)."""

    def part_reader(self, blob_id: str, part: int) -> IO[bytes]: ...

    def delete(self, blob_id: str) -> None: ...

    def delete_part(self, blob_id: str, part: int) -> None: ...

    def stored_blobs(self) -> Iterator[tuple[str, float]]:
        """Every stored blob id with the time its newest part was written."""

    def free_bytes(self) -> int | None: ...

    def sync(self) -> None:
        """Make every part written with ``durable=False`` durable."""


class _WritebackFile:
    """A file whose dirty pages are flushed to disk in the background while it is written.

    Encryption and the disk then work at the same time, and the final fsync finds little left
    to do; without it a large part would be encrypted first and written out only at the end.
    """

    FLUSH_EVERY = 32 * BLOCK

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.unflushed = 0
        self.wanted = threading.Event()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._flush_loop, name="writeback", daemon=True)
        self.thread.start()

    def _flush_loop(self) -> None:
        while True:
            self.wanted.wait()
            self.wanted.clear()
            if self.done.is_set():
                return
            with contextlib.suppress(OSError):
                os.fdatasync(self.handle.fileno())

    def write(self, data: bytes) -> int:
        written = self.handle.write(data)
        self.unflushed += written
        if self.unflushed >= self.FLUSH_EVERY:
            self.handle.flush()
            self.unflushed = 0
            self.wanted.set()
        return written

    def flush(self) -> None:
        self.handle.flush()

    def fileno(self) -> int:
        return self.handle.fileno()

    def stop(self) -> None:
        self.done.set()
        self.wanted.set()
        self.thread.join()


class LocalBlobBackend:
    """Parts as files ``blobs/ab/<id>.<part>`` under the data directory (256 fan-out folders)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.temporary = root / ".tmp"

    def _path(self, blob_id: str, part: int) -> Path:
        return self.root / blob_id[:2] / f"{blob_id}.{part}"

    @contextlib.contextmanager
    def part_writer(self, blob_id: str, part: int, *, durable: bool = True) -> Iterator[IO[bytes]]:
        self.temporary.mkdir(parents=True, exist_ok=True)
        temporary = self.temporary / f"{blob_id}.{part}.{uuid.uuid4().hex}"
        final = self._path(blob_id, part)
        handle = open(temporary, "xb", buffering=BLOCK)  # noqa: SIM115
        writer = _WritebackFile(handle) if durable else None
        try:
            yield writer or handle  # type: ignore[misc]
            handle.flush()
            if writer is not None:
                writer.stop()
                os.fsync(handle.fileno())
            handle.close()
            self._make_folders(final.parent, durable=durable)
            os.replace(temporary, final)
            if durable:
                fsync_directory(final.parent)
        finally:
            if writer is not None:
                writer.stop()
            if not handle.closed:
                handle.close()
            temporary.unlink(missing_ok=True)

    def _make_folders(self, folder: Path, *, durable: bool) -> None:
        """Create the ``ab`` fan-out folder; a new folder's entry is synced into the root."""
        if folder.exists():
            return
        folder.mkdir(exist_ok=True)
        if durable:
            fsync_directory(folder.parent)

    def part_reader(self, blob_id: str, part: int) -> IO[bytes]:
        try:
            return open(self._path(blob_id, part), "rb", buffering=BLOCK)
        except FileNotFoundError:
            raise BlobCorrupt(f"Part {part} of blob {blob_id} is missing from the store.") from None

    def delete(self, blob_id: str) -> None:
        directory = self._path(blob_id, 0).parent
        for path in directory.glob(f"{blob_id}.*"):
            path.unlink(missing_ok=True)

    def delete_part(self, blob_id: str, part: int) -> None:
        self._path(blob_id, part).unlink(missing_ok=True)

    def stored_blobs(self) -> Iterator[tuple[str, float]]:
        newest: dict[str, float] = {}
        if not self.root.exists():
            return iter(())
        for path in self.root.glob("??/*.*"):
            blob_id = path.name.split(".", 1)[0]
            with contextlib.suppress(FileNotFoundError):
                newest[blob_id] = max(newest.get(blob_id, 0.0), path.stat().st_mtime)
        return iter(newest.items())

    def free_bytes(self) -> int | None:
        self.root.mkdir(parents=True, exist_ok=True)
        return shutil.disk_usage(self.root).free

    def sync(self) -> None:
        """syncfs(2) on the store's file system (not every disk of the machine), else sync."""
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(self.root, os.O_RDONLY)
        try:
            if getattr(libc, "syncfs", None) is None or libc.syncfs(fd) != 0:
                os.sync()
        finally:
            os.close(fd)

    def clean_temporary(self, older_than: float) -> int:
        """Remove temporary files left by writes that were killed before they finished."""
        removed = 0
        if self.temporary.exists():
            for path in self.temporary.iterdir():
                with contextlib.suppress(FileNotFoundError):
                    if path.stat().st_mtime < older_than:
                        path.unlink()
                        removed += 1
        return removed


def new_blob_id() -> str:
    return uuid.uuid4().hex


def now() -> float:
    return time.time()
