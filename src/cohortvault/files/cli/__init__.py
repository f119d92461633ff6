"""``cohortvault login``, ``logout`` and ``files …``: files on a cohortvault server, from a shell.

These commands talk to a server's REST API with a bearer token (``cohortvault login``); they
never open an instance, so they work from any machine that can reach the server. Credentials
are kept in ``$COHORTVAULT_CLIENT_CONFIG`` (default ``~/.config/cohortvault/client.json``,
mode 0600); ``COHORTVAULT_SERVER`` and ``COHORTVAULT_TOKEN`` override it for scripts.

Exit codes scripts can rely on:

    0    success
    1    any other error (network, server error, local file problem)
    2    wrong usage (unknown option, missing argument, a folder without -r)
    3    not found (also areas you may not know about, and missing local files)
    4    not authenticated (not logged in, token expired or revoked) or not allowed
    5    conflict (a file where a folder should be, a move onto an existing name, …)
    6    invalid input: a path the server refuses, or a remote name this client will not
         write locally
    7    too large, or not enough free storage on the server
    130  interrupted (Ctrl-C); run the same put again to resume a large upload

The package's modules: ``failures`` (exit codes), ``config`` (credentials and connecting),
``account`` (login and logout), ``output`` (what the commands print) and ``commands``
(``files …``).
"""

from __future__ import annotations

from cohortvault.files.cli.account import login, logout
from cohortvault.files.cli.commands import files
from cohortvault.files.client import UnsafeName

__all__ = ["UnsafeName", "files", "login", "logout"]
