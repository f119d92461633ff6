"""Encrypting a part from a stream and decrypting one as a stream: counting and checksumming
the plaintext on the way in, a bounded queue of blocks on the way out, and ``PushWriter`` for
senders that push."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyrage

from cohortvault.storage.blobs import agecommand
from cohortvault.storage.blobs.backend import (
    BLOCK,
    QUEUE_DEPTH,
    BlobBackend,
    BlobCorrupt,
    Incomplete,
    TooLarge,
)
from cohortvault.storage.keys import AreaSecrets


class _Checksum:
    """HMAC-SHA-256 of the plaintext, computed in a helper thread block by block, in order.

    age holds the GIL while it encrypts, but hashlib releases it for large blocks, so the
    checksum runs on another core instead of adding a third to the time of every write.
    """

    def __init__(self, mac_key: bytes) -> None:
        self.mac = hmac.new(mac_key, digestmod=hashlib.sha256)
        self.blocks: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUE_DEPTH)
        self.thread = threading.Thread(target=self._run, name="checksum", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (block := self.blocks.get()) is not None:
            self.mac.update(block)

    def update(self, block: bytes) -> None:
        self.blocks.put(block)

    def close(self) -> None:
        if self.thread.is_alive():
            self.blocks.put(None)
            self.thread.join()

    def hexdigest(self) -> str:
        self.close()
        return self.mac.hexdigest()


class _InlineChecksum:
    """The same checksum, computed in the caller's thread: cheaper for small parts, where
    starting a thread costs more than it saves."""

    def __init__(self, mac_key: bytes) -> None:
        self.mac = hmac.new(mac_key, digestmod=hashlib.sha256)

    def update(self, block: bytes) -> None:
        self.mac.update(block)

    def close(self) -> None:
        pass

    def hexdigest(self) -> str:
        return self.mac.hexdigest()


#: Parts announced smaller than this are checksummed inline, larger ones in a helper thread.
THREADED_CHECKSUM_FROM = 8 * BLOCK


class _Reader(io.RawIOBase):
    """Feeds age from the source in large blocks while counting and checksumming.

    age reads 8 KiB at a time; wrapped in an ``io.BufferedReader`` those small reads are
    served in C and this class only sees one call per block.
    """

    def __init__(
        self, source: Any, mac_key: bytes, limit: int | None, expected: int | None
    ) -> None:
        super().__init__()
        self.source = source
        small = expected is not None and expected < THREADED_CHECKSUM_FROM
        self.mac: _Checksum | _InlineChecksum = (
            _InlineChecksum(mac_key) if small else _Checksum(mac_key)
        )
        self.limit = limit
        self.size = 0
        self.error: BaseException | None = None

    def readable(self) -> bool:
        return True

    def read_block(self, size: int = BLOCK) -> bytes:
        """The next block of the source (empty at its end), counted and checksummed."""
        try:
            block = self.source.read(size)
        except Exception as exc:  # a client that vanished mid-upload, say
            self.error = Incomplete(f"The upload was interrupted: {exc}")
            raise self.error from exc
        if not block:
            return b""
        self.size += len(block)
        if self.limit is not None and self.size > self.limit:
            self.error = TooLarge(f"The upload is larger than the limit of {self.limit} bytes.")
            raise self.error
        self.mac.update(block)
        return bytes(block)

    def readinto(self, buffer: Any) -> int:
        block = self.read_block(min(len(buffer), BLOCK))
        buffer[: len(block)] = block
        return len(block)


def _buffer_size(expected_size: int | None) -> int:
    """A block, or less for a small part of known size (a batch stores thousands of them)."""
    if expected_size is None:
        return BLOCK
    return max(8192, min(BLOCK, expected_size + 1))


@dataclass(frozen=True)
class WrittenPart:
    size: int
    checksum: str


def write_part(
    backend: BlobBackend,
    keys: AreaSecrets,
    blob_id: str,
    part: int,
    source: Any,
    *,
    limit: int | None = None,
    expected_size: int | None = None,
    durable: bool = True,
) -> WrittenPart:
    """Encrypt everything ``source.read`` yields into one part of a blob, atomically.

    ``expected_size`` (e.g. Content-Length) turns a short read, as when a client disconnects,
    into ``Incomplete``; ``limit`` stops an over-long upload as soon as it passes the limit.
    In both cases nothing is published.
    """
    reader = _Reader(source, keys.mac_key, limit, expected_size)
    with backend.part_writer(blob_id, part, durable=durable) as out:
        try:
            source_blocks = io.BufferedReader(reader, buffer_size=_buffer_size(expected_size))
            pyrage.encrypt_io(source_blocks, out, [keys.recipient])
        except Exception:
            if reader.error is not None:  # raised by our reader, surfaced by age as its own
                raise reader.error from None
            raise
        finally:
            reader.mac.close()
        if expected_size is not None and reader.size != expected_size:
            raise Incomplete(
                f"Received {reader.size} of {expected_size} bytes; nothing was stored."
            )
    return WrittenPart(size=reader.size, checksum=reader.mac.hexdigest())


def combine_checksums(mac_key: bytes, part_checksums: list[str]) -> str:
    """The blob's checksum: an HMAC over its parts' HMACs, in order."""
    joined = b"".join(bytes.fromhex(c) for c in part_checksums)
    return hmac.new(mac_key, joined, hashlib.sha256).hexdigest()


class _QueueWriter(io.RawIOBase):
    """Hands decrypted blocks to the reading side. age writes 8 KiB at a time; wrapped in an
    ``io.BufferedWriter`` those writes are collected in C into blocks before they get here."""

    def __init__(self, chunks: queue.Queue[bytes | BaseException | None]) -> None:
        super().__init__()
        self.chunks = chunks

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.chunks.put(bytes(data))
        return len(data)


def _stored_size(source: Any) -> int:
    try:
        return os.fstat(source.fileno()).st_size
    except (AttributeError, OSError, io.UnsupportedOperation):
        return 0  # not a local file: decrypt in-process


def read_part(backend: BlobBackend, keys: AreaSecrets, blob_id: str, part: int) -> Iterator[bytes]:
    """Decrypt one part as a stream of blocks (at most a few blocks in memory)."""
    source = backend.part_reader(blob_id, part)
    program = agecommand.command()
    if program and _stored_size(source) >= agecommand.PROCESS_FROM:
        label = f"Blob {blob_id} part {part}"
        try:
            yield from agecommand.decrypt(program, str(keys.identity), source, label)
        finally:
            source.close()
        return
    chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=QUEUE_DEPTH)
    stop = threading.Event()

    def decrypt() -> None:
        try:
            writer = io.BufferedWriter(_QueueWriter(chunks), buffer_size=BLOCK)
            pyrage.decrypt_io(source, writer, [keys.identity])
            writer.flush()
            chunks.put(None)
        except BaseException as exc:  # handed to the reading side
            if not stop.is_set():
                chunks.put(exc)
        finally:
            source.close()

    worker = threading.Thread(target=decrypt, name=f"decrypt-{blob_id}", daemon=True)
    worker.start()
    try:
        while True:
            item = chunks.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise BlobCorrupt(
                    f"Blob {blob_id} part {part} failed decryption (tampered or damaged)."
                ) from item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock the worker if the reader stopped early
            with contextlib.suppress(queue.Empty):
                chunks.get_nowait()
            worker.join(timeout=0.01)


def verify_part(backend: BlobBackend, keys: AreaSecrets, blob_id: str, part: int) -> WrittenPart:
    """Decrypt a part completely and return its size and checksum, to compare with the record."""
    mac = hmac.new(keys.mac_key, digestmod=hashlib.sha256)
    size = 0
    for block in read_part(backend, keys, blob_id, part):
        mac.update(block)
        size += len(block)
    return WrittenPart(size=size, checksum=mac.hexdigest())


class PushWriter:
    """Write a part by pushing chunks (as Django's upload handlers do) instead of pulling.

    A helper thread pulls from a pipe into ``write_part``; ``close`` waits for it and returns
    the written part, or raises what went wrong. ``abort`` discards everything.
    """

    def __init__(
        self, backend: BlobBackend, keys: AreaSecrets, blob_id: str, *, limit: int | None
    ) -> None:
        read_fd, write_fd = os.pipe()
        self._source = os.fdopen(read_fd, "rb", buffering=BLOCK)
        self._sink = os.fdopen(write_fd, "wb", buffering=0)
        self._result: WrittenPart | None = None
        self._error: BaseException | None = None
        self._aborted = threading.Event()
        writer = self

        class Source:
            def read(self, size: int = -1) -> bytes:
                data = writer._source.read(size)
                if not data and writer._aborted.is_set():
                    raise Incomplete()  # end of pipe because of abort: publish nothing
                return data

        def run() -> None:
            try:
                self._result = write_part(backend, keys, blob_id, 0, Source(), limit=limit)
            except BaseException as exc:
                self._error = exc
            finally:
                self._source.close()

        self._thread = threading.Thread(target=run, name=f"encrypt-{blob_id}", daemon=True)
        self._thread.start()

    def write(self, data: bytes) -> None:
        if self._error is not None:
            raise self._error
        try:
            self._sink.write(data)
        except BrokenPipeError:
            self._thread.join()
            raise self._error or Incomplete() from None

    def close(self) -> WrittenPart:
        self._sink.close()
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    def abort(self) -> None:
        self._aborted.set()
        with contextlib.suppress(OSError):
            self._sink.close()
        self._thread.join()
