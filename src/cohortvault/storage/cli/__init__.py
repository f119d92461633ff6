"""``cohortvault keys …`` and ``cohortvault storage …``: look after the master key, the area
keys and the blob store.

Secrets never reach the terminal: paper shares go only into the page ``keys paper-backup``
writes, and ``keys recover`` reads shares from files or hidden prompts. Every command records
an audit entry as the system (the command line has no signed-in user).

The package's modules: ``common`` (a clean error for a missing master key, the audit
entry), ``key_commands`` (``keys …``) and ``blob_commands`` (``storage …``).
"""

from __future__ import annotations

from cohortvault.storage.cli.blob_commands import storage
from cohortvault.storage.cli.key_commands import keys
from cohortvault.storage.paper import share_qr_svg as share_qr_svg

__all__ = ["keys", "storage"]
