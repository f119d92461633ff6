"""The client's credentials and settings: the configuration file, the environment variables
that override it, and a ``Client`` built from them."""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import click

from cohortvault.files.cli.failures import EXIT_DENIED, LOGIN_AGAIN, Failure
from cohortvault.files.client import DEFAULT_CHUNK_SIZE, DOWNLOAD_THREADS, Client

CONFIG_ENV = "COHORTVAULT_CLIENT_CONFIG"
SERVER_ENV = "COHORTVAULT_SERVER"
TOKEN_ENV = "COHORTVAULT_TOKEN"  # noqa: S105 (a variable name)
CHUNK_SIZE_ENV = "COHORTVAULT_CLIENT_CHUNK_SIZE"
STOP_AFTER_CHUNKS_ENV = "COHORTVAULT_CLIENT_STOP_AFTER_CHUNKS"
THREADS_ENV = "COHORTVAULT_CLIENT_THREADS"


@dataclass(frozen=True)
class Credentials:
    server: str
    token: str
    expires_at: str = ""
    username: str = ""

    def expired(self) -> bool:
        if not self.expires_at:
            return False
        try:
            return datetime.fromisoformat(self.expires_at) <= datetime.now(UTC)
        except ValueError:
            return False


def config_path() -> Path:
    configured = os.environ.get(CONFIG_ENV)
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "cohortvault" / "client.json"


def read_credentials(path: Path) -> Credentials | None:
    try:
        data = json.loads(path.read_text())
        return Credentials(
            server=str(data["server"]),
            token=str(data["token"]),
            expires_at=str(data.get("expires_at") or ""),
            username=str(data.get("username") or ""),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise Failure(f"cannot read {path} ({exc}); {LOGIN_AGAIN}") from None


def write_credentials(path: Path, credentials: Credentials) -> None:
    """Write the file atomically, readable by its owner only, in a folder only they can enter."""
    created = not path.parent.exists()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if created or path.parent.name == "cohortvault":
        path.parent.chmod(0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w") as out:
            json.dump(asdict(credentials), out, indent=2)
            out.write("\n")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def current_credentials() -> Credentials:
    """The file's credentials, with COHORTVAULT_SERVER and COHORTVAULT_TOKEN winning."""
    stored = read_credentials(config_path())
    server = os.environ.get(SERVER_ENV, "").strip() or (stored.server if stored else "")
    token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
        if not server:
            raise Failure(f"{TOKEN_ENV} is set; set {SERVER_ENV} to the server's URL too", 4)
        return Credentials(server=normal_server(server), token=token)
    if stored is None or not server:
        raise Failure(f"not logged in: {LOGIN_AGAIN}", EXIT_DENIED)
    if normal_server(server) != normal_server(stored.server):
        raise Failure(f"not logged in to {server}: {LOGIN_AGAIN}", EXIT_DENIED)
    if stored.expired():
        raise Failure(f"your login expired at {stored.expires_at}: {LOGIN_AGAIN}", EXIT_DENIED)
    return stored


def normal_server(server: str) -> str:
    server = server.strip().rstrip("/")
    parts = urlsplit(server)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise click.BadParameter(
            f"{server!r} is not a server URL such as https://vault.example.org"
        )
    return server


def is_loopback(server: str) -> bool:
    host = urlsplit(server).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_size(text: str) -> int:
    units = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
    raw = text.strip().lower().removesuffix("b").removesuffix("i")
    number, unit = (raw[:-1], raw[-1]) if raw and raw[-1] in units else (raw, "")
    if not number.isdigit() or int(number) < 1:
        raise click.BadParameter(f"{text!r} is not a size such as 1048576, 512K, 64M or 1G")
    return int(number) * units[unit]


def chunk_size_from(option: str | None) -> int:
    raw = option or os.environ.get(CHUNK_SIZE_ENV, "")
    return parse_size(raw) if raw else DEFAULT_CHUNK_SIZE


def connect(chunk_size: int = DEFAULT_CHUNK_SIZE) -> Client:
    credentials = current_credentials()
    stop = os.environ.get(STOP_AFTER_CHUNKS_ENV, "")
    threads = os.environ.get(THREADS_ENV, "")
    return Client(
        credentials.server,
        credentials.token,
        chunk_size=chunk_size,
        state_dir=config_path().parent / "uploads",
        stop_after_chunks=int(stop) if stop.isdigit() else None,
        download_threads=max(1, int(threads)) if threads.isdigit() else DOWNLOAD_THREADS,
    )
