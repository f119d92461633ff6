"""``cohortvault imports …``: follow imports and decide them from the command line.

``list``, ``show``, ``report``, ``accept`` and ``reject`` talk to the server's API after
``cohortvault login`` (exit codes as for ``cohortvault files``). ``check`` and ``worker`` run
on the server against an instance (``--data-dir``): ``worker`` is the quality-control checker
the server starts, ``check`` empties the queue once.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from typing import Any

import click

from cohortvault.files.cli.config import connect
from cohortvault.files.cli.failures import Failure, reports_errors
from cohortvault.files.cli.output import emit_json, when
from cohortvault.instance import with_instance

EXIT_NOT_ACCEPTABLE = 1


@click.group()
def imports() -> None:
    """Imports of tabular site data and their quality-control reports (after `cohortvault
    login`). Upload with `cohortvault files put FILE sites/SITE/import/STUDY/`."""


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def _line(item: dict[str, Any]) -> str:
    locked = " [personal data: locked]" if item["personal_data"] else ""
    study = f"/{item['study']}" if item["study"] else ""
    return (
        f"{item['id']:>5}  {item['state']:<9} {item['errors']:>3}E {item['warnings']:>3}W  "
        f"{item['site']}{study}  {item['filename']}{locked}"
    )


@imports.command("list")
@click.option(
    "--state",
    type=click.Choice(
        ["pending", "queued", "checking", "checked", "accepted", "rejected", "withdrawn"]
    ),
    help="Only these (pending: awaiting the data manager).",
)
@click.option("--site", help="Only this site's imports.")
@json_option
@reports_errors
def list_command(state: str | None, site: str | None, as_json: bool) -> None:
    """Imports you may see, newest first."""
    with connect() as client:
        found = client.get_json("imports", state=state, site=site)
    if as_json:
        emit_json(found)
        return
    for item in found:
        click.echo(_line(item))


@imports.command("show")
@click.argument("import_id", type=int)
@json_option
@reports_errors
def show(import_id: int, as_json: bool) -> None:
    """One import: where it came from, its state and the decision."""
    with connect() as client:
        item = client.get_json(f"imports/{import_id}")
    if as_json:
        emit_json(item)
        return
    click.echo(_line(item))
    click.echo(f"path:      {item['path']}")
    click.echo(f"uploaded:  {when(_parse(item['uploaded_at']))} by {item['uploaded_by']}")
    if item["decided_by"]:
        click.echo(f"decision:  {item['state']} by {item['decided_by']}")
    if item["reason"]:
        click.echo(f"reason:    {item['reason']}")
    if item["dataset_version"]:
        click.echo(f"dataset:   {item['site']}/{item['study']} version {item['dataset_version']}")


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@imports.command("report")
@click.argument("import_id", type=int)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "csv"]),
    default="text",
    show_default=True,
)
@click.option("--wait", is_flag=True, help="Wait until quality control has finished.")
@reports_errors
def report(import_id: int, fmt: str, wait: bool) -> None:
    """The quality-control report; exit 1 when it has errors (the file cannot be accepted)."""
    with connect() as client:
        item = _checked(client, import_id, wait)
        if fmt == "csv":
            click.echo(client.get_text(f"imports/{import_id}/report", format="csv"), nl=False)
        else:
            data = client.get_json(f"imports/{import_id}/report")
            if fmt == "json":
                emit_json(data)
            else:
                _print_report(item, data)
    if item["errors"]:
        raise click.exceptions.Exit(EXIT_NOT_ACCEPTABLE)


def _checked(client: Any, import_id: int, wait: bool) -> dict[str, Any]:
    deadline = time.monotonic() + 600
    while True:
        item: dict[str, Any] = client.get_json(f"imports/{import_id}")
        if item["state"] not in ("queued", "checking"):
            return item
        if not wait or time.monotonic() > deadline:
            raise Failure(f"import {import_id} is still being checked; try again (or --wait)", 5)
        time.sleep(1)


def _print_report(item: dict[str, Any], data: dict[str, Any]) -> None:
    detected = data["detected"]
    how = ""
    if detected.get("encoding"):
        how = f" ({detected['encoding']}, delimiter {detected['delimiter']!r})"
    shape = f"{detected['rows']} rows × {detected['columns']} columns"
    click.echo(
        f"import {item['id']}: {item['filename']} read as {detected['format']}{how}, {shape}"
    )
    counts = data["counts"]
    click.echo(f"{counts['errors']} error(s), {counts['warnings']} warning(s)")
    for finding in data["findings"]:
        where = f" [{finding['column']}]" if finding["column"] else ""
        rows = f" {finding['rows']} row(s)" if finding["rows"] else ""
        example = f" e.g. {finding['example']}" if finding["example"] else ""
        click.echo(f"  {finding['severity']:<7} {finding['check']}{where}{rows}{example}")
        click.echo(f"          {finding['message']}")


@imports.command("accept")
@click.argument("import_id", type=int)
@click.option("--reason", default="", help="Required when the report has warnings.")
@json_option
@reports_errors
def accept(import_id: int, reason: str, as_json: bool) -> None:
    """Accept an import as its site's next dataset version (the data manager)."""
    with connect() as client:
        item = client.post_json(f"imports/{import_id}/accept", {"reason": reason})
    if as_json:
        emit_json(item)
        return
    click.echo(
        f"accepted import {import_id}: {item['site']}/{item['study']} "
        f"version {item['dataset_version']}"
    )


@imports.command("reject")
@click.argument("import_id", type=int)
@click.option("--reason", required=True, help="Why; the uploader reads it.")
@json_option
@reports_errors
def reject(import_id: int, reason: str, as_json: bool) -> None:
    """Reject an import with a reason (the data manager)."""
    with connect() as client:
        item = client.post_json(f"imports/{import_id}/reject", {"reason": reason})
    if as_json:
        emit_json(item)
        return
    click.echo(f"rejected import {import_id}")


@imports.command("check")
@with_instance
def check() -> None:
    """Run quality control on every queued import now (on the server)."""
    from cohortvault.imports.services import check_queued, requeue_stale

    requeue_stale()
    click.echo(f"checked {check_queued()} import(s)")


@imports.command("worker")
@click.option("--interval", type=click.IntRange(min=1), default=2, show_default=True)
@click.option(
    "--parent",
    type=click.IntRange(min=1),
    help="Stop once the process with this id (the server that started the worker) is gone.",
)
@with_instance
def worker(interval: int, parent: int | None) -> None:
    """Check queued imports as they arrive, until stopped (the server starts this)."""
    from django.db import close_old_connections

    from cohortvault.imports.services import check_queued, requeue_stale

    requeue_stale()
    while parent is None or os.getppid() == parent:
        close_old_connections()
        check_queued()
        time.sleep(interval)
