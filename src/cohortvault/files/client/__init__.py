"""A client for the files routes of cohortvault's REST API, for the command line and scripts.

It talks to a server with a bearer token and never opens an instance: it imports httpx and the
standard library only (no Django, no cohortvault module that needs Django), so it works on any
machine that can reach the server.

    ClientError               every answer outside 2xx, in the API's one error shape
    │                         (status, code, message, request_id, details); status 0 when the
    │                         server could not be reached or the connection broke
    └── UnsafeName            a name from the server that would land outside a local folder

Transfers stream in constant memory. A file larger than ``chunk_size`` goes through the
resumable upload protocol, and the upload's id is kept in a small state file (keyed by server,
remote path, local path, size and modification time), so that running the same upload again
after an interruption continues from the server's offset. Many small files travel together as
tar batches, one request per batch. Downloads land in a temporary file next to the destination
and are renamed into place only when complete.

The package's modules, from the bottom up: ``errors``, ``records`` (the server's answers),
``localpaths`` (where downloads may land), ``connection`` (one request per method), ``batches``
(tar batches) and ``transfers`` (``Client``: whole files and folder trees).
"""

from __future__ import annotations

from cohortvault.files.client.batches import BATCH_BYTES as BATCH_BYTES
from cohortvault.files.client.batches import BATCH_FILES as BATCH_FILES
from cohortvault.files.client.batches import SPOOL_IN_MEMORY as SPOOL_IN_MEMORY
from cohortvault.files.client.batches import Packed as Packed
from cohortvault.files.client.batches import pack as pack
from cohortvault.files.client.batches import sum_sizes as sum_sizes
from cohortvault.files.client.connection import DEFAULT_CHUNK_SIZE, request_token
from cohortvault.files.client.connection import DOWNLOAD_THREADS as DOWNLOAD_THREADS
from cohortvault.files.client.connection import PIECE as PIECE
from cohortvault.files.client.connection import TIMEOUT as TIMEOUT
from cohortvault.files.client.connection import Connection as Connection
from cohortvault.files.client.connection import MiB as MiB
from cohortvault.files.client.connection import Progress as Progress
from cohortvault.files.client.connection import join as join
from cohortvault.files.client.connection import quote_path as quote_path
from cohortvault.files.client.errors import ClientError, UnsafeName
from cohortvault.files.client.localpaths import local_target
from cohortvault.files.client.records import AreaInfo as AreaInfo
from cohortvault.files.client.records import Entry, Listing, TreeFile, TreeReport
from cohortvault.files.client.records import Token as Token
from cohortvault.files.client.records import UploadState as UploadState
from cohortvault.files.client.records import Version as Version
from cohortvault.files.client.transfers import Client

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "Client",
    "ClientError",
    "Entry",
    "Listing",
    "TreeFile",
    "TreeReport",
    "UnsafeName",
    "local_target",
    "request_token",
]
