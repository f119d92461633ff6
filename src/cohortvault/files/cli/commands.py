"""``cohortvault files …``: list, upload, download, delete, move and restore files."""

from __future__ import annotations

import os
import sys
from dataclasses import asdict
from pathlib import Path

import click

from cohortvault.files.cli.config import CHUNK_SIZE_ENV, chunk_size_from, connect
from cohortvault.files.cli.failures import EXIT_NOT_FOUND, Failure, reports_errors
from cohortvault.files.cli.output import Meter, emit_json, human, report_tree, shown_name, when
from cohortvault.files.client import Client, ClientError, TreeFile, local_target


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
