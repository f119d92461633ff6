"""Test-suite plugin, loaded before Django's settings: a throwaway data directory for the run
and, with ``--db=postgres``, a real PostgreSQL server that the suite starts and stops itself.

PostgreSQL refuses to run as root, so when the suite runs as root the server programs run as
the ``postgres`` user through ``runuser``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help="database the suite runs against (postgres starts a real server)",
    )


def _bindir() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
    if not candidates:
        raise pytest.UsageError("PostgreSQL server programs not found (apt-get install postgresql)")
    return candidates[0].parent


def _free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    base: Path
    port: int
    bindir: Path

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/cohortvault"

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True)

    @classmethod
    def start(cls) -> PostgresServer:
        base = Path(tempfile.mkdtemp(prefix="cohortvault-pg-"))
        server = cls(base=base, port=_free_port(), bindir=_bindir())
        base.chmod(0o755)  # the postgres user must reach it
        if os.geteuid() == 0:
            shutil.chown(base, user="postgres")
        server._run(
            "initdb",
            "-D",
            str(server.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        )
        options = (
            f"-p {server.port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        server._run(
            "pg_ctl",
            "-D",
            str(server.data),
            "-o",
            options,
            "-l",
            str(base / "server.log"),
            "-w",
            "start",
        )
        return server

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.base, ignore_errors=True)


_state: dict[str, object] = {}


def _write_master_key(path: Path) -> None:
    import pyrage

    from cohortvault.storage.keyfile import write_identity_file

    write_identity_file(path, pyrage.x25519.Identity.generate())


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="cohortvault-test-"))
    _state["data_dir"] = data_dir
    _write_master_key(data_dir / "master.key")
    os.environ["COHORTVAULT_DATA_DIR"] = str(data_dir)
    os.environ.pop("COHORTVAULT_DATABASE_URL", None)
    if early_config.known_args_namespace.db == "postgres":
        server = PostgresServer.start()
        _state["postgres"] = server
        os.environ["COHORTVAULT_DATABASE_URL"] = server.url


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("db") == "postgres":
        return
    skip = pytest.mark.skip(reason="PostgreSQL-only behaviour; runs with --db=postgres")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def pytest_report_header(config: pytest.Config) -> str:
    return f"cohortvault database: {config.getoption('db')}"


def pytest_unconfigure(config: pytest.Config) -> None:
    server = _state.pop("postgres", None)
    if isinstance(server, PostgresServer):
        server.stop()
    data_dir = _state.pop("data_dir", None)
    if isinstance(data_dir, Path):
        shutil.rmtree(data_dir, ignore_errors=True)
