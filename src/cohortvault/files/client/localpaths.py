"""Where downloaded names land locally: never outside the destination folder."""

from __future__ import annotations

import os
from pathlib import Path, PureWindowsPath

from cohortvault.files.client.errors import UnsafeName


def local_target(root: Path, name: str) -> Path:
    """Where the remote relative ``name`` (``/``-separated) lands under ``root``.

    Defence in depth for downloads: the server checks its paths, and this refuses whatever
    could still leave ``root`` (``..``, absolute or drive paths, backslashes, NUL and control
    characters), then checks the joined path really is inside ``root``.
    """
    if not name:
        raise UnsafeName(name, "empty name")
    if "\x00" in name or any(ord(char) < 32 or ord(char) == 127 for char in name):
        raise UnsafeName(name, "control character")
    if "\\" in name or name.startswith("/") or PureWindowsPath(name).drive or os.path.isabs(name):
        raise UnsafeName(name, "absolute path or foreign separator")
    parts = name.split("/")
    if any(part in {"", ".", ".."} for part in parts):
        raise UnsafeName(name, "empty, '.' or '..' segment")
    base = os.path.abspath(root)
    candidate = os.path.normpath(os.path.join(base, *parts))
    if candidate == base or os.path.commonpath([base, candidate]) != base:
        raise UnsafeName(name, "leaves the destination folder")
    return Path(candidate)


def _inside_real(root: Path, folder: Path) -> None:
    """Refuse a folder that resolves (through symbolic links) outside ``root``."""
    real_root, real = os.path.realpath(root), os.path.realpath(folder)
    if os.path.commonpath([real_root, real]) != real_root:
        raise UnsafeName(str(folder), "a symbolic link leads outside the destination folder")
