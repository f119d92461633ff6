"""``cohortvault deliveries …``: a project's deliveries from the command line (after
``cohortvault login``; exit codes as for ``cohortvault files``)."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any

import click

from cohortvault.datasets.cli import printable
from cohortvault.files.cli.config import connect
from cohortvault.files.cli.failures import Failure, reports_errors
from cohortvault.files.cli.output import emit_json
from cohortvault.files.client.connection import quote_path

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


@click.group()
def deliveries() -> None:
    """Project deliveries: list, show, compare, and extract a new one (the data manager)."""


def _route(code: str, rest: str = "") -> str:
    return f"projects/{quote_path(code)}/deliveries{rest}"


@deliveries.command("list")
@click.argument("project")
@json_option
@reports_errors
def list_command(project: str, as_json: bool) -> None:
    """The project's deliveries, newest first."""
    with connect() as client:
        found = client.get_json(_route(project))
    if as_json:
        emit_json(found)
        return
    for item in found:
        sources = ", ".join(
            f"{s['site']}/{s['study']} v{s['version']}" for s in item["spec"]["sources"]
        )
        shape = f"{item['rows']:>8} × {item['columns']:<4}"
        who = printable(item["created_by"])
        click.echo(f"{item['number']:03d}  {shape} {who:<12} {printable(sources)}")


@deliveries.command("show")
@click.argument("project")
@click.argument("number", type=int)
@json_option
@reports_errors
def show(project: str, number: int, as_json: bool) -> None:
    """One delivery: its folder, files with checksums, sources and notes."""
    with connect() as client:
        item = client.get_json(_route(project, f"/{number}"))
    if as_json:
        emit_json(item)
        return
    click.echo(f"{printable(item['folder'])}/  {item['rows']} rows × {item['columns']} columns")
    for f in item["files"]:
        click.echo(f"  {printable(f['name']):<18} {f['size']:>12}  sha256 {printable(f['sha256'])}")
    for s in item["spec"]["sources"]:
        click.echo(
            f"  source {printable(s['site'])}/{printable(s['study'])} version {s['version']}"
        )
    for note in item["notes"]:
        click.echo(f"  note: {printable(note.get('message', ''))}")


@deliveries.command("diff")
@click.argument("project")
@click.argument("old", type=int)
@click.argument("new", type=int)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True
)
@reports_errors
def diff(project: str, old: int, new: int, fmt: str) -> None:
    """Cell-level differences between two deliveries."""
    with connect() as client:
        if fmt == "csv":
            click.echo(
                client.get_text(_route(project, "/diff"), old=old, new=new, format="csv"), nl=False
            )
            return
        data = client.get_json(_route(project, "/diff"), old=old, new=new)
    if fmt == "json":
        emit_json(data)
        return
    click.echo(f"delivery {old} → {new}: {data['summary']}")
    for change in data["changes"]:
        key = " ".join(str(v) for k, v in change.items() if k not in ("column", "old", "new"))
        before, after = printable(change["old"]), printable(change["new"])
        click.echo(f"  {printable(key)}  {printable(change['column'])}: {before} → {after}")


@deliveries.command("run")
@click.argument("project")
@click.option("--layout", type=click.Choice(["long", "wide"]), default="long", show_default=True)
@click.option(
    "--transforms",
    "transforms_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A JSON file with a list of transforms (see docs/extraction.md).",
)
@click.option(
    "--version",
    "versions",
    multiple=True,
    metavar="SITE/STUDY=N",
    help="Use this dataset version instead of the latest (repeatable).",
)
@click.option("--note", default="", help="Why this delivery was made.")
@json_option
@reports_errors
def run(
    project: str,
    layout: str,
    transforms_file: Path | None,
    versions: tuple[str, ...],
    note: str,
    as_json: bool,
) -> None:
    """Extract the project's granted data into its next delivery (the data manager)."""
    payload: dict[str, Any] = {"layout": layout, "note": note, "versions": _versions(versions)}
    if transforms_file is not None:
        try:
            payload["transforms"] = json.loads(transforms_file.read_text())
        except json.JSONDecodeError as exc:
            raise Failure(f"{transforms_file} is not valid JSON: {exc}", 6) from None
    with connect() as client, _waiting("extracting"):
        item = client.post_json(_route(project), payload)
    if as_json:
        emit_json(item)
        return
    click.echo(
        f"delivery {item['number']:03d}: {item['rows']} rows × {item['columns']} columns "
        f"in {item['folder']}/"
    )


def _versions(raw: tuple[str, ...]) -> dict[str, int]:
    chosen = {}
    for item in raw:
        key, _, number = item.partition("=")
        if not number.isdigit() or key.count("/") != 1:
            raise click.BadParameter(f"{item!r} is not SITE/STUDY=N", param_hint="--version")
        chosen[key] = int(number)
    return chosen


class _waiting:
    """Dots on stderr while the server works (an extraction of millions of rows takes a while)."""

    def __init__(self, what: str) -> None:
        self.what, self.stop = what, threading.Event()
        self.thread = threading.Thread(target=self._tick, daemon=True)

    def _tick(self) -> None:
        if not sys.stderr.isatty():
            return
        click.echo(f"{self.what} ", err=True, nl=False)
        while not self.stop.wait(1):
            click.echo(".", err=True, nl=False)
        click.echo("", err=True)

    def __enter__(self) -> None:
        self.thread.start()

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
