"""The blob store: encrypted parts on disk, written atomically, read as a stream.

Writes pull from the source in large blocks, count and checksum the plaintext, and let age
encrypt it straight into a temporary file; the file is fsynced and renamed into place only when
the whole part arrived. Nothing is held in memory beyond one block, so size does not matter.
Reads decrypt in a helper thread into a small bounded queue. Tampered ciphertext fails age's
authentication and raises ``BlobCorrupt``.

The backend (where encrypted bytes live) is a ``BlobBackend`` protocol; ``LocalBlobBackend``
keeps them in the data directory. An object store can implement the same four methods.

The package's modules: ``backend`` (the protocol, the local backend, the errors) and
``streams`` (writing, reading and verifying parts).
"""

from __future__ import annotations

from cohortvault.storage.blobs.backend import (
    BLOCK,
    QUEUE_DEPTH,
    BlobBackend,
    BlobCorrupt,
    Incomplete,
    LocalBlobBackend,
    TooLarge,
    new_blob_id,
    now,
)
from cohortvault.storage.blobs.streams import (
    THREADED_CHECKSUM_FROM,
    PushWriter,
    WrittenPart,
    combine_checksums,
    read_part,
    verify_part,
    write_part,
)

__all__ = [
    "BLOCK",
    "QUEUE_DEPTH",
    "THREADED_CHECKSUM_FROM",
    "BlobBackend",
    "BlobCorrupt",
    "Incomplete",
    "LocalBlobBackend",
    "PushWriter",
    "TooLarge",
    "WrittenPart",
    "combine_checksums",
    "new_blob_id",
    "now",
    "read_part",
    "verify_part",
    "write_part",
]
