"""Large parts are decrypted by the ``age`` command (the reference implementation of the format,
Debian's package ``age``) in a process of its own.

The pyrage binding holds Python's global interpreter lock while it decrypts, so decryption and
everything else the server does (writing the response, checksumming) take turns on one core.
The ``age`` process reads the stored file itself and decrypts on another core; this process
only moves plaintext blocks from a pipe to the client, which releases the lock. Encryption
stays in-process: feeding plaintext through a pipe costs more on these machines than pyrage's
encryption does (measured: 250-300 MB/s through the process against 550-600 MB/s in-process).
Small parts, where starting a process costs more than it saves, and every part when the
command is missing (setting ``age_command``), are decrypted by pyrage; the format is the same.

The area's secret identity reaches ``age --decrypt`` through an inherited pipe
(``/dev/fd/N``), never through a file or the command line.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator
from typing import IO

from django.conf import settings

from cohortvault.storage.blobs.backend import BLOCK, BlobCorrupt

__all__ = ["PROCESS_FROM", "command", "decrypt"]

F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
#: Stored parts of at least this size are decrypted by the ``age`` process.
PROCESS_FROM = 8 * BLOCK


def command() -> str | None:
    """The ``age`` command to use, or ``None`` to stay in-process."""
    configured = getattr(settings, "COHORTVAULT_AGE_COMMAND", "")
    return shutil.which(configured) if configured else None


def decrypt(program: str, identity: str, source: IO[bytes], label: str) -> Iterator[bytes]:
    """The plaintext of the encrypted file ``source`` (which must have a file descriptor), in
    blocks. Blocks come out only once age has authenticated them; a damaged or truncated file
    raises ``BlobCorrupt`` where it fails, after the good blocks before it."""
    secret_out, secret_in = os.pipe()
    try:
        os.write(secret_in, identity.encode("ascii") + b"\n")
    finally:
        os.close(secret_in)
    try:
        process = subprocess.Popen(  # noqa: S603  (a fixed program, no shell)
            [program, "--decrypt", "--identity", f"/dev/fd/{secret_out}"],
            stdin=source,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(secret_out,),
        )
    finally:
        os.close(secret_out)
    assert process.stdout is not None
    _widen(process.stdout)
    finished = False
    try:
        while chunk := process.stdout.read(BLOCK):
            yield chunk
        status = process.wait()
        finished = True
        if status != 0:
            raise BlobCorrupt(f"{label} failed decryption (tampered or damaged): {_said(process)}")
    finally:
        if not finished:  # the reader stopped early
            process.kill()
            process.wait()
        _close(process)


def _widen(*pipes: IO[bytes]) -> None:
    """Pipes of a block each instead of 64 KiB: a few large writes instead of many small ones
    (Linux; elsewhere, or above the user's limit, the pipes keep their size)."""
    for pipe in pipes:
        with contextlib.suppress(OSError, AttributeError):
            fcntl.fcntl(pipe.fileno(), F_SETPIPE_SZ, BLOCK)


def _close(process: subprocess.Popen[bytes]) -> None:
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def _said(process: subprocess.Popen[bytes]) -> str:
    if process.stderr is None or process.stderr.closed or process.returncode is None:
        return f"exit status {process.returncode}"
    with contextlib.suppress(OSError, ValueError):
        text = process.stderr.read(2000).decode("utf-8", "replace").strip()
        if text:
            return text.splitlines()[-1]
    return f"exit status {process.returncode}"
