"""Reading and writing age key files. No Django here: ``cohortvault init`` uses it before the
instance exists."""

from __future__ import annotations

import os
from pathlib import Path

import pyrage

from cohortvault.errors import CohortvaultError


class MasterKeyError(CohortvaultError):
    """The master key is missing, unreadable or not the one the area keys were wrapped with."""

    status = 500
    code = "master_key"
    default_message = "The instance's master key is missing or wrong."


def parse_identity(text: str) -> pyrage.x25519.Identity:
    """The identity in an age key file's text (comment lines ignored)."""
    lines = [
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]
    if len(lines) != 1:
        raise MasterKeyError("expected exactly one AGE-SECRET-KEY line")
    try:
        return pyrage.x25519.Identity.from_str(lines[0])
    except pyrage.IdentityError as exc:
        raise MasterKeyError(f"not an age identity: {exc}") from None


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_identity_file(
    path: Path, identity: pyrage.x25519.Identity, *, replace: bool = True
) -> None:
    """Write a key file with mode 0600 atomically: temporary file, fsync, rename, fsync folder.
    With ``replace=False`` an existing file is never overwritten."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(f"# cohortvault master key; public key {identity.to_public()}\n{identity}\n")
        handle.flush()
        os.fsync(handle.fileno())
    if replace:
        os.replace(temporary, path)
    else:
        try:
            os.link(temporary, path)
        finally:
            temporary.unlink()
    fsync_directory(path.parent)
