"""``cohortvault corrections …``: correct a ticket's data, follow corrections and their
re-deliveries, record consent withdrawals, and read the public error log.

The commands talk to the server's API after ``cohortvault login`` (or with
``COHORTVAULT_SERVER`` and ``COHORTVAULT_TOKEN``) and share the exit codes of
``cohortvault files``: 3 not found (also a correction you may not see), 4 not logged in or not
allowed, 5 conflict (a ticket closed to corrections, a withdrawal already recorded), 6 invalid
input (a refused edit or corrected file: nothing was changed). Text from the server is printed
with control characters escaped; ``--json`` prints the API's answer.
"""

from __future__ import annotations

from cohortvault.corrections.cli import correcting, withdrawals  # noqa: F401  (the commands)
from cohortvault.corrections.cli.common import corrections

__all__ = ["corrections"]
