"""Large parts are encrypted and decrypted by the ``age`` command (the reference implementation
of the format, Debian's package ``age``) in a process of its own.

The pyrage binding holds Python's global interpreter lock while it works, so in-process
encryption and everything else the server does (reading the request, checksumming, writing)
take turns on one core. The ``age`` process encrypts on another core while this process only
moves blocks: reading the source, writing to the pipe and to disk all release the lock. The
format is the same either way, so either side decrypts what the other encrypted; small parts,
where starting a process costs more than it saves, stay with pyrage, and so does everything
when the command is missing (setting ``age_command``).

The recipient (a public key) goes on the command line; a secret identity never does: it reaches
``age --decrypt`` through an inherited pipe (``/dev/fd/N``), never through a file or argv.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from typing import IO

from django.conf import settings

from cohortvault.storage.blobs.backend import BLOCK, BlobCorrupt

__all__ = ["PROCESS_FROM", "AgeCommandError", "command", "decrypt", "encrypt"]

#: Parts of at least this size (or of unknown size) go through the ``age`` process.
PROCESS_FROM = 8 * BLOCK


class AgeCommandError(RuntimeError):
    """The ``age`` process failed for a reason of its own (not the data's)."""


def command() -> str | None:
    """The ``age`` command to use, or ``None`` to stay in-process."""
    configured = getattr(settings, "COHORTVAULT_AGE_COMMAND", "")
    return shutil.which(configured) if configured else None


def encrypt(program: str, recipient: str, feed: Callable[[], bytes], out: IO[bytes]) -> None:
    """Encrypt what ``feed`` returns, block after block until an empty one, into ``out``.

    An exception from ``feed`` (a client that went away, an upload over the limit) stops the
    process and is raised as it is; ``out`` then holds garbage its owner discards.
    """
    process = subprocess.Popen(  # noqa: S603  (a fixed program, no shell, a public key)
        [program, "--encrypt", "--recipient", recipient],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    failure: list[BaseException] = []

    def drain() -> None:
        assert process.stdout is not None
        try:
            while chunk := process.stdout.read(BLOCK):
                out.write(chunk)
        except BaseException as exc:  # the disk is full, say: stop the process too
            failure.append(exc)
            process.kill()

    writer = threading.Thread(target=drain, name="age-output", daemon=True)
    writer.start()
    try:
        try:
            while block := feed():
                process.stdin.write(block)
            process.stdin.close()
        except BrokenPipeError:
            pass  # the process ended early: its exit status or the drain says why
        writer.join()
        status = process.wait()
    except BaseException:
        process.kill()
        writer.join()
        process.wait()
        raise
    finally:
        said = _said(process)
        _close(process)
    if failure:
        raise failure[0]
    if status != 0:
        raise AgeCommandError(f"age --encrypt failed: {said}")


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
