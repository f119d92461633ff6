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
"""

from __future__ import annotations

import functools
import ipaddress
import json
import os
import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click

from cohortvault.files.client import (
    DEFAULT_CHUNK_SIZE,
    DOWNLOAD_THREADS,
    Client,
    ClientError,
    Entry,
    TreeFile,
    TreeReport,
    UnsafeName,
    local_target,
    request_token,
)

F = TypeVar("F", bound=Callable[..., Any])

CONFIG_ENV = "COHORTVAULT_CLIENT_CONFIG"
SERVER_ENV = "COHORTVAULT_SERVER"
TOKEN_ENV = "COHORTVAULT_TOKEN"  # noqa: S105 (a variable name)
CHUNK_SIZE_ENV = "COHORTVAULT_CLIENT_CHUNK_SIZE"
STOP_AFTER_CHUNKS_ENV = "COHORTVAULT_CLIENT_STOP_AFTER_CHUNKS"
THREADS_ENV = "COHORTVAULT_CLIENT_THREADS"

EXIT_ERROR = 1
EXIT_NOT_FOUND = 3
EXIT_DENIED = 4
EXIT_CONFLICT = 5
EXIT_INVALID = 6
EXIT_TOO_LARGE = 7
EXIT_INTERRUPTED = 130
EXIT_BY_STATUS = {
    400: EXIT_INVALID,
    401: EXIT_DENIED,
    403: EXIT_DENIED,
    404: EXIT_NOT_FOUND,
    409: EXIT_CONFLICT,
    413: EXIT_TOO_LARGE,
    422: EXIT_INVALID,
    507: EXIT_TOO_LARGE,
}
LOGIN_AGAIN = "run `cohortvault login --server URL`"


class Failure(Exception):
    """An error with the exit code its kind promises."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.code = exit_code


def exit_code_of(error: ClientError) -> int:
    return EXIT_BY_STATUS.get(error.status, EXIT_ERROR)


def failure_of(error: ClientError) -> Failure:
    if error.status == 401 and error.code == "not_authenticated":
        return Failure(
            f"the server did not accept your token (expired or revoked): {LOGIN_AGAIN}",
            EXIT_DENIED,
        )
    return Failure(str(error), exit_code_of(error))


def reports_errors(command: F) -> F:
    """Turn client errors into messages and exit codes; Ctrl-C into exit 130."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            try:
                return command(*args, **kwargs)
            except ClientError as exc:
                raise failure_of(exc) from None
        except Failure as failure:
            click.echo(f"Error: {failure.message}", err=True)
            raise click.exceptions.Exit(failure.code) from None
        except OSError as exc:
            click.echo(f"Error: {exc}", err=True)
            raise click.exceptions.Exit(EXIT_ERROR) from None
        except KeyboardInterrupt:
            click.echo(
                "Interrupted. Run the same command again to resume a large upload.", err=True
            )
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None

    return wrapper  # type: ignore[return-value]


# --- credentials ----------------------------------------------------------------------------


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


# --- login and logout -----------------------------------------------------------------------


def ask(text: str, *, secret: bool = False, default: str | None = None) -> str:
    """Prompt on the terminal (hidden for secrets); read plain lines when stdin is a pipe."""
    value = click.prompt(text, hide_input=secret and sys.stdin.isatty(), default=default, err=True)
    return str(value).strip() if not secret else str(value)


@click.command()
@click.option(
    "--server", envvar=SERVER_ENV, help="The server's URL, e.g. https://vault.example.org."
)
@click.option("--username", help="Your username (asked for when not given).")
@reports_errors
def login(server: str | None, username: str | None) -> None:
    """Sign in to a server with password and one-time code, and keep the token for later
    commands (in ~/.config/cohortvault/client.json or $COHORTVAULT_CLIENT_CONFIG, mode 0600)."""
    path = config_path()
    try:
        stored = read_credentials(path)
    except Failure:
        stored = None  # a damaged file is simply replaced
    server = server or (stored.server if stored else None)
    if not server:
        raise click.UsageError("give the server's URL with --server")
    server = normal_server(server)
    if not server.startswith("https://") and not is_loopback(server):
        click.echo(f"Warning: {server} is not HTTPS; your password travels unencrypted.", err=True)
    if not username:
        remembered = stored.username if stored and stored.server == server else None
        username = ask("Username", default=remembered)
    password = ask("Password", secret=True)
    otp = ask("One-time code")
    try:
        token = request_token(server, username, password, otp)
    except ClientError as exc:
        if exc.status == 401:
            raise Failure(f"login refused: {exc.message}", EXIT_DENIED) from None
        raise
    expires = token.expires_at.isoformat() if token.expires_at else ""
    write_credentials(path, Credentials(server, token.token, expires, username))
    until = f" until {token.expires_at:%Y-%m-%d %H:%M %Z}" if token.expires_at else ""
    click.echo(f"Logged in to {server} as {username}{until}.")


@click.command()
@reports_errors
def logout() -> None:
    """Revoke the stored token on its server and forget it."""
    path = config_path()
    stored = read_credentials(path)
    if stored is None:
        click.echo("Not logged in.")
        return
    problem = ""
    try:
        with Client(stored.server, stored.token) as client:
            client.revoke_token()
    except ClientError as exc:
        if exc.status != 401:  # 401: already expired or revoked
            problem = str(exc)
    path.unlink(missing_ok=True)
    if problem:
        raise Failure(
            f"forgot the token, but could not revoke it ({problem}); "
            f"it stays valid until {stored.expires_at or 'it expires'}"
        )
    click.echo(f"Logged out of {stored.server}.")


# --- output ---------------------------------------------------------------------------------


def human(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(size)


def when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else "-"


def shown_name(entry: Entry) -> str:
    return entry.name + ("/" if entry.is_folder else "")


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


class Meter:
    """A progress bar on stderr that appears once the total is known (none with --quiet)."""

    def __init__(self, label: str, *, quiet: bool, unit: str = "bytes") -> None:
        self.label, self.quiet, self.unit = label, quiet, unit
        self.stack = ExitStack()
        self.bar: Any = None

    def start(self, total: int | None) -> None:
        if self.quiet or total is None or self.bar is not None:
            return
        self.bar = self.stack.enter_context(
            click.progressbar(
                length=total,
                label=self.label,
                file=sys.stderr,
                show_pos=self.unit == "files",
                show_eta=True,
                item_show_func=self._bytes if self.unit == "bytes" else None,
            )
        )

    def _bytes(self, _: object) -> str:
        return f"{human(self.bar.pos)} of {human(self.bar.length)}" if self.bar else ""

    def update(self, steps: int) -> None:
        if self.bar is not None and steps:
            self.bar.update(steps)

    def __enter__(self) -> Meter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stack.close()


def report_tree(report: TreeReport, verb: str, where: str, *, quiet: bool) -> None:
    if not quiet:
        click.echo(f"{verb} {report.files} files ({human(report.bytes)}) {where}")
    for name, error in report.failed:
        click.echo(f"Error: {name}: {error}", err=True)
    if report.failed:
        raise click.exceptions.Exit(exit_code_of(report.failed[0][1]))


# --- files ----------------------------------------------------------------------------------


@click.group()
def files() -> None:
    """Files on a cohortvault server (after `cohortvault login`). Exit codes: 0 ok, 1 error,
    2 usage, 3 not found, 4 not logged in or not allowed, 5 conflict, 6 invalid path,
    7 too large."""


quiet_option = click.option("-q", "--quiet", is_flag=True, help="No progress bars or summaries.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


@files.command("ls")
@click.argument("path", required=False)
@click.option("-l", "--long", "long_format", is_flag=True, help="Kind, size, date and author.")
@json_option
@reports_errors
def list_command(path: str | None, long_format: bool, as_json: bool) -> None:
    """List a folder (or, without PATH, the areas you can reach)."""
    with connect() as client:
        if not path:
            areas = client.areas()
            if as_json:
                emit_json([asdict(a) for a in areas])
            for area in [] if as_json else areas:
                rights = ",".join(area.permissions)
                click.echo(f"{area.path}/\t{rights}" if long_format else f"{area.path}/")
            return
        try:
            entries = client.list_folder(path).entries
        except ClientError as exc:
            if exc.status != 422:
                raise
            entry = client.stat(path)  # a file: show it, as ls does
            if entry.is_folder:
                raise
            entries = [entry]
    if as_json:
        emit_json([asdict(e) for e in entries])
        return
    for entry in entries:
        if long_format:
            kind = "d" if entry.is_folder else "-"
            size = "" if entry.is_folder else str(entry.size)
            stamp = when(entry.modified_at)
            line = f"{kind} {size:>12} {stamp} {entry.modified_by:<12} {shown_name(entry)}"
            click.echo(line)
        else:
            click.echo(shown_name(entry))


def tree_of(sources: list[Path]) -> tuple[list[TreeFile], list[str]]:
    """The files under each source (named by the source's own name) and the empty folders."""
    found: list[TreeFile] = []
    empty: list[str] = []
    for source in sources:
        if source.is_file():
            found.append(TreeFile(source, source.name, source.stat().st_size))
            continue
        top = source.resolve().name
        if not top:
            raise click.UsageError(f"{source}: name a folder below /, not / itself")
        for folder, subfolders, names in os.walk(source):
            relative = Path(folder).relative_to(source).as_posix()
            prefix = top if relative == "." else f"{top}/{relative}"
            subfolders.sort()
            for link in [s for s in subfolders if os.path.islink(os.path.join(folder, s))]:
                click.echo(f"Skipping {os.path.join(folder, link)}: a link to a folder", err=True)
                subfolders.remove(link)
            regular = 0
            for name in sorted(names):
                local = Path(folder, name)
                if local.is_file():
                    found.append(TreeFile(local, f"{prefix}/{name}", local.stat().st_size))
                    regular += 1
                else:
                    click.echo(f"Skipping {local}: not a regular file", err=True)
            if not subfolders and not regular:
                empty.append(prefix)
    return found, empty


@files.command("put")
@click.argument("paths", nargs=-1, required=True, metavar="LOCAL... REMOTE")
@click.option("-r", "--recursive", is_flag=True, help="Upload folders with all they contain.")
@click.option(
    "--chunk-size",
    metavar="SIZE",
    help="Files larger than this are sent as resumable uploads in chunks of this size "
    f"(default 64M, or ${CHUNK_SIZE_ENV}).",
)
@quiet_option
@reports_errors
def put(paths: tuple[str, ...], recursive: bool, chunk_size: str | None, quiet: bool) -> None:
    """Upload files (and, with -r, folders). REMOTE is a folder when it ends with /, when
    several LOCAL are given, or with -r; otherwise it is the file's new path."""
    if len(paths) < 2:
        raise click.UsageError("give at least one LOCAL file and the REMOTE path")
    sources, remote = [Path(p) for p in paths[:-1]], paths[-1]
    for source in sources:
        if not source.exists():
            raise Failure(f"{source}: no such file or folder", EXIT_NOT_FOUND)
        if source.is_dir() and not recursive:
            raise click.UsageError(f"{source} is a folder; use -r to upload it")
    into_folder = remote.endswith("/") or len(sources) > 1 or recursive
    with connect(chunk_size_from(chunk_size)) as client:
        if len(sources) == 1 and sources[0].is_file() and not recursive:
            target = remote
            if into_folder:
                target = remote + sources[0].name
            else:
                try:
                    if client.stat(remote).is_folder:
                        target = f"{remote}/{sources[0].name}"
                except ClientError as exc:
                    if exc.status not in {403, 404}:
                        raise
            with Meter(sources[0].name, quiet=quiet) as meter:
                meter.start(sources[0].stat().st_size)
                entry = client.put_file(sources[0], target, progress=meter.update)
            if not quiet:
                click.echo(f"stored {entry.path} ({human(entry.size)})")
            return
        found, empty = tree_of(sources)
        client.make_folder(remote)
        with Meter("Uploading", quiet=quiet, unit="files") as meter:
            meter.start(len(found))
            report = client.put_tree(found, remote, folders=empty, progress=meter.update)
    report_tree(report, "stored", f"under {remote.removesuffix('/')}/", quiet=quiet)


@files.command("get")
@click.argument("remote")
@click.argument("local")
@click.option("-r", "--recursive", is_flag=True, help="Download a folder with all it contains.")
@click.option("--version", type=int, help="An earlier version's id (see `files versions`).")
@quiet_option
@reports_errors
def get(remote: str, local: str, recursive: bool, version: int | None, quiet: bool) -> None:
    """Download a file to LOCAL (a file, a folder, or - for standard output). With -r, the
    folder REMOTE is downloaded into the folder LOCAL (created if missing)."""
    if local == "-" and recursive:
        raise click.UsageError("a folder cannot be written to standard output")
    with connect() as client:
        try:
            fetched = fetch(client, remote, local, recursive, version, quiet)
        except ClientError as exc:
            if exc.code == "is_folder":
                raise click.UsageError(f"{remote} is a folder; use -r to download it") from None
            raise
    if fetched is not None and not quiet:
        click.echo(f"fetched {fetched[0]} ({human(fetched[1])})")


def fetch(
    client: Client, remote: str, local: str, recursive: bool, version: int | None, quiet: bool
) -> tuple[Path, int] | None:
    """Download as ``get`` describes; returns the single file fetched and its size."""
    if local == "-":
        client.download_to(remote, sys.stdout.buffer, version=version)
        return None
    if recursive:
        if version is not None:
            raise click.UsageError("--version names one file's version; leave out -r")
        folder = client.stat(remote)
        destination = Path(local)
        if folder.is_folder:
            root = local_target(destination, folder.name)
            with Meter("Downloading", quiet=quiet, unit="files") as meter:
                report = client.get_tree(
                    folder.path, root, progress=meter.update, on_start=meter.start
                )
            report_tree(report, "fetched", f"into {root}", quiet=quiet)
            return None
        destination.mkdir(parents=True, exist_ok=True)
    target = Path(local)
    if local.endswith(("/", os.sep)) or target.is_dir():
        target = local_target(target, remote.removesuffix("/").rsplit("/", 1)[-1])
    if not target.parent.is_dir():
        raise Failure(f"{target.parent}: no such folder", EXIT_NOT_FOUND)
    with Meter(target.name, quiet=quiet) as meter:
        size = client.get_file(
            remote, target, version=version, progress=meter.update, on_start=meter.start
        )
    return target, size


@files.command("rm")
@click.argument("path")
@click.option("-r", "--recursive", is_flag=True, help="Delete a folder with all it contains.")
@reports_errors
def remove(path: str, recursive: bool) -> None:
    """Delete a file (or, with -r, a folder); it stays restorable for the retention period."""
    with connect() as client:
        if not recursive and client.stat(path).is_folder:
            raise click.UsageError(f"{path} is a folder; use -r to delete it with its content")
        entry = client.delete(path)
    click.echo(f"deleted {entry.path} (restorable with `cohortvault files restore {entry.path}`)")


@files.command("mkdir")
@click.argument("path")
@reports_errors
def make_folder(path: str) -> None:
    """Create a folder, and any missing folders above it."""
    with connect() as client:
        entry = client.make_folder(path)
    click.echo(f"created {entry.path}/")


@files.command("mv")
@click.argument("source")
@click.argument("target")
@reports_errors
def move(source: str, target: str) -> None:
    """Move or rename a file or folder within its area (TARGET ending in / moves it into
    that folder)."""
    if target.endswith("/"):
        target += source.removesuffix("/").rsplit("/", 1)[-1]
    with connect() as client:
        entry = client.move(source, target)
    click.echo(f"moved {source} to {entry.path}")


@files.command("versions")
@click.argument("path")
@json_option
@reports_errors
def versions(path: str, as_json: bool) -> None:
    """A file's current and retained earlier versions, newest first."""
    with connect() as client:
        found = client.versions(path)
    if as_json:
        emit_json([asdict(v) for v in found])
        return
    for version in found:
        mark = "*" if version.current else " "
        until = "" if version.current else f"  kept until {when(version.restorable_until)}"
        note = f"  {version.note}" if version.note else ""
        click.echo(
            f"{mark} {version.id:>8} {human(version.size):>10} {when(version.created_at)} "
            f"{version.created_by}{note}{until}"
        )


@files.command("restore")
@click.argument("path")
@click.option("--version", type=int, help="Make this earlier version current again.")
@reports_errors
def restore(path: str, version: int | None) -> None:
    """Bring back a deleted file or folder, or an earlier version of a file."""
    with connect() as client:
        entry = client.restore(path, version=version)
    click.echo(f"restored {entry.path}" + (f" (version {entry.version})" if version else ""))


@files.command("deleted")
@click.argument("path")
@json_option
@reports_errors
def deleted(path: str, as_json: bool) -> None:
    """What was deleted under a folder and can still be restored."""
    with connect() as client:
        found = client.deleted(path)
    if as_json:
        emit_json([asdict(e) for e in found])
        return
    for entry in found:
        size = "" if entry.is_folder else human(entry.size)
        click.echo(f"{when(entry.deleted_at)} {size:>10} {entry.path}{'/' * entry.is_folder}")


@files.command("stat")
@click.argument("path")
@json_option
@reports_errors
def stat(path: str, as_json: bool) -> None:
    """Kind, size, version and last change of a file or folder."""
    with connect() as client:
        entry = client.stat(path)
    if as_json:
        emit_json(asdict(entry))
        return
    for label, value in [
        ("path", entry.path + ("/" if entry.is_folder else "")),
        ("kind", entry.kind),
        ("size", "-" if entry.size is None else f"{entry.size} bytes ({human(entry.size)})"),
        ("modified", f"{when(entry.modified_at)} by {entry.modified_by or '-'}"),
        ("version", "-" if entry.version is None else str(entry.version)),
    ]:
        click.echo(f"{label:<9} {value}")


__all__ = ["UnsafeName", "files", "login", "logout"]
