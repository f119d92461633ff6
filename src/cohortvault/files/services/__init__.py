"""The file service: the only doors to files, for every front door (web, API, CLI, SFTP, jobs).

Each function takes the acting principal and a raw path, parses and checks the path (once, in
``storage.paths``), asks the policy, and audits the call, reads included. Content is encrypted
under the area's key by the blob store before any database row refers to it.

The package's modules: ``common`` (the records returned and the checks every request goes
through), ``reading``, ``writing`` and ``history`` (versions, recently deleted, restore).
"""

from __future__ import annotations

from cohortvault.files.services.common import Download, Entry, Listing, VersionInfo
from cohortvault.files.services.common import checked as checked
from cohortvault.files.services.common import entry_of as entry_of
from cohortvault.files.services.common import parse as parse
from cohortvault.files.services.common import visible as visible
from cohortvault.files.services.history import erase_version as erase_version
from cohortvault.files.services.history import recently_deleted, restore, versions
from cohortvault.files.services.history import retention as retention
from cohortvault.files.services.reading import blob_chunks as blob_chunks
from cohortvault.files.services.reading import fetch, list_folder, read_file, stat
from cohortvault.files.services.writing import InsufficientStorage as InsufficientStorage
from cohortvault.files.services.writing import add_version as add_version
from cohortvault.files.services.writing import area_secrets as area_secrets
from cohortvault.files.services.writing import check_room as check_room
from cohortvault.files.services.writing import delete, make_folder, move, write_file
from cohortvault.files.services.writing import ensure_folders as ensure_folders
from cohortvault.files.services.writing import file_node as file_node
from cohortvault.files.services.writing import lock_file as lock_file
from cohortvault.files.services.writing import store_blob as store_blob

__all__ = [
    "Download",
    "Entry",
    "Listing",
    "VersionInfo",
    "delete",
    "fetch",
    "list_folder",
    "make_folder",
    "move",
    "read_file",
    "recently_deleted",
    "restore",
    "stat",
    "versions",
    "write_file",
]
