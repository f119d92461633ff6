"""``cohortvault tickets …``: report suspected data errors and follow them from the command line.

The commands talk to the server's API after ``cohortvault login`` (or with
``COHORTVAULT_SERVER`` and ``COHORTVAULT_TOKEN``) and share the exit codes of
``cohortvault files``: 3 not found (also a ticket you may not see), 4 not logged in or not
allowed (a state change by anyone but a data manager), 5 conflict, 6 invalid input. Text from
the server is printed with control characters escaped; ``--json`` prints the API's answer.
"""

from __future__ import annotations

import mimetypes
import sys
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import click

from cohortvault.datasets.cli import printable, write_output
from cohortvault.datasets.client import download
from cohortvault.files.cli.config import connect
from cohortvault.files.cli.failures import (
    EXIT_INVALID,
    Failure,
    exit_code_of,
    reports_errors,
)
from cohortvault.files.cli.output import Meter, emit_json, human, when
from cohortvault.files.client import ClientError, Connection, local_target

STATES = ["open", "triaged", "correcting", "resolved", "wont_fix", "duplicate"]

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
quiet_option = click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
existing_file = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)


@click.group()
def tickets() -> None:
    """Error tickets: report a suspected data error, follow it, and (the data manager) triage
    it (after `cohortvault login`). Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 not
    logged in or not allowed, 5 conflict, 6 invalid input."""


def _time(text: str | None) -> str:
    return when(datetime.fromisoformat(text)) if text else "-"


def _line(item: dict[str, Any]) -> str:
    variables = ", ".join(printable(v) for v in item["variables"])
    return (
        f"{item['number']:>5}  {item['state']:<10} {printable(item['site'])}/"
        f"{printable(item['study'])}  [{variables}]  {printable(item['title'])}"
    )


@tickets.command("list")
@click.option(
    "--state",
    type=click.Choice(["active", "closed", *STATES]),
    help="Only these (active: not closed; closed: resolved, wont_fix or duplicate).",
)
@click.option("--site", help="Only tickets about this site.")
@click.option("--study", help="Only tickets about this study.")
@click.option("--mine", is_flag=True, help="Only the tickets you reported.")
@json_option
@reports_errors
def list_command(
    state: str | None, site: str | None, study: str | None, mine: bool, as_json: bool
) -> None:
    """Tickets you may see (yours, your sites', or all for a data manager), newest first."""
    with connect() as client:
        found = client.get_json(
            "tickets", state=state, site=site, study=study, mine="true" if mine else None
        )
    if as_json:
        emit_json(found)
        return
    for item in found:
        click.echo(_line(item))


@tickets.command("show")
@click.argument("number", type=int)
@json_option
@reports_errors
def show(number: int, as_json: bool) -> None:
    """One ticket: what was reported, its history and its attachments."""
    with connect() as client:
        item = client.get_json(f"tickets/{number}")
    if as_json:
        emit_json(item)
        return
    _show(item)


def _show(item: dict[str, Any]) -> None:
    click.echo(f"ticket {item['number']}: {printable(item['title'])}")
    state = printable(item["state_label"])
    if item["duplicate_of"]:
        state += f" (of ticket {item['duplicate_of']})"
    rows = [
        ("state", state),
        ("dataset", f"{printable(item['site'])}/{printable(item['study'])}"),
        ("variables", ", ".join(printable(v) for v in item["variables"])),
        ("subject", printable(item["subject_id"]) if item["subject_id"] else "-"),
        ("timepoint", printable(item["timepoint"]) if item["timepoint"] else "-"),
        ("found in", printable(item["found_in"]) if item["found_in"] else "-"),
        ("reported", f"{_time(item['reported_at'])} by {printable(item['reported_by'])}"),
        ("resolved", _time(item["resolved_at"])),
    ]
    for label, value in rows:
        click.echo(f"{label:<11}{value}")
    click.echo("")
    for line in str(item["description"]).splitlines():
        click.echo(f"  {printable(line)}")
    if item["events"]:
        click.echo("\nhistory:")
    for event in item["events"]:
        click.echo(f"  {_event(event)}")
    if item["attachments"]:
        click.echo("\nattachments:")
    for a in item["attachments"]:
        click.echo(
            f"  {a['id']:>5}  {printable(a['name'])}  {human(a['size'])}  "
            f"{printable(a['added_by'])} {_time(a['added_at'])}"
        )


def _event(event: dict[str, Any]) -> str:
    line = f"{_time(event['at'])}  {printable(event['actor']):<12} {printable(event['kind'])}"
    if event["old_state"] or event["new_state"]:
        old = f"{printable(event['old_state'])} → " if event["old_state"] else ""
        line += f" {old}{printable(event['new_state'])}"
    if event["text"]:
        line += f": {printable(event['text'])}"
    return line


@tickets.command("report")
@click.option("--site", required=True, help="The site whose data hold the error.")
@click.option("--study", required=True, help="The site's study (dataset).")
@click.option(
    "--variable",
    "variables",
    multiple=True,
    required=True,
    help="A variable of the data dictionary the error concerns (repeatable).",
)
@click.option("--title", required=True, help="One line saying what is wrong.")
@click.option("--description", required=True, help="What you saw, and where.")
@click.option("--subject-id", default="", help="The subject the error concerns, if one.")
@click.option("--timepoint", default="", help="The timepoint the error concerns, if one.")
@click.option("--found-in", default="", help="Where it was seen: a dataset version or delivery.")
@click.option(
    "--attach",
    "attachments",
    multiple=True,
    type=existing_file,
    help="A file to attach, e.g. a scan of the paper form (repeatable; at most 20 MiB each).",
)
@json_option
@reports_errors
def report(
    site: str,
    study: str,
    variables: tuple[str, ...],
    title: str,
    description: str,
    subject_id: str,
    timepoint: str,
    found_in: str,
    attachments: tuple[Path, ...],
    as_json: bool,
) -> None:
    """Report a suspected error in a site's data (anyone may); prints the ticket's number."""
    payload = {
        "site": site,
        "study": study,
        "variables": list(variables),
        "title": title,
        "description": description,
        "subject_id": subject_id,
        "timepoint": timepoint,
        "found_in": found_in,
    }
    with connect() as client:
        item = client.post_json("tickets", payload)
        number = item["number"]
        for path in attachments:
            try:
                _attach(client, number, path, quiet=True)
            except ClientError as exc:
                raise Failure(
                    f"ticket {number} was reported, but {path} was not attached ({exc}); "
                    f"attach it with `cohortvault tickets attach {number} FILE`",
                    exit_code_of(exc),
                ) from None
        if attachments:
            item = client.get_json(f"tickets/{number}")
    if as_json:
        emit_json(item)
        return
    click.echo(f"reported ticket {number}: {printable(item['title'])}")
    for a in item["attachments"]:
        click.echo(f"  attached {printable(a['name'])} ({human(a['size'])})")


def _attach(client: Connection, number: int, path: Path, *, quiet: bool) -> dict[str, Any]:
    size = path.stat().st_size
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    with path.open("rb") as source, Meter(path.name, quiet=quiet) as meter:
        meter.start(size)
        attached: dict[str, Any] = client.put_body(
            f"tickets/{number}/attachments",
            source,
            size,
            progress=meter.update,
            content_type=kind,
            name=path.name,
        )
    return attached


@tickets.command("comment")
@click.argument("number", type=int)
@click.argument("text")
@json_option
@reports_errors
def comment(number: int, text: str, as_json: bool) -> None:
    """Add a comment to a ticket (TEXT - reads it from standard input)."""
    if text == "-":
        text = sys.stdin.read()
    with connect() as client:
        item = client.post_json(f"tickets/{number}/comments", {"text": text})
    if as_json:
        emit_json(item)
        return
    click.echo(f"commented on ticket {number}")


@tickets.command("attach")
@click.argument("number", type=int)
@click.argument("path", metavar="FILE", type=existing_file)
@quiet_option
@json_option
@reports_errors
def attach(number: int, path: Path, quiet: bool, as_json: bool) -> None:
    """Attach a file to a ticket (at most 20 MiB; 10 files per ticket)."""
    with connect() as client:
        attached = _attach(client, number, path, quiet=quiet or as_json)
    if as_json:
        emit_json(attached)
        return
    click.echo(
        f"attached {printable(attached['name'])} ({human(attached['size'])}) to ticket "
        f"{number} as attachment {attached['id']}"
    )


@tickets.command("download")
@click.argument("number", type=int)
@click.argument("attachment_id", type=int)
@click.option(
    "-o",
    "--output",
    metavar="PATH",
    help="A file, a folder, or - for standard output (default: the attachment's name here).",
)
@reports_errors
def download_command(number: int, attachment_id: int, output: str | None) -> None:
    """Download one of a ticket's attachments (ids from `tickets show`)."""
    route = f"tickets/{number}/attachments/{attachment_id}"
    with connect() as client:
        target = output or "."
        if target != "-" and Path(target).is_dir():
            target = str(_local_name(client, number, attachment_id, Path(target)))

        def write(sink: IO[bytes]) -> int:
            return download(client, route, sink)

        size = write_output(target, write)
    if target != "-":
        click.echo(f"wrote {target} ({human(size)})", err=True)


def _local_name(client: Connection, number: int, attachment_id: int, folder: Path) -> Path:
    """Where the attachment lands in ``folder``: its own name, which must stay inside."""
    item = client.get_json(f"tickets/{number}")
    names = [a["name"] for a in item["attachments"] if a["id"] == attachment_id]
    if not names:
        raise ClientError(404, "not_found", f"Ticket {number} has no attachment {attachment_id}.")
    if "/" in names[0]:
        raise Failure(
            f"refused to write {names[0]!r} locally: not a plain file name; give -o FILE",
            EXIT_INVALID,
        )
    try:
        return local_target(folder, names[0])
    except ClientError as exc:
        raise Failure(f"{exc}; give -o FILE", EXIT_INVALID) from None


@tickets.command("state")
@click.argument("number", type=int)
@click.argument("state", type=click.Choice(STATES))
@click.option("--reason", default="", help="Why (required for resolved and wont_fix).")
@click.option("--duplicate-of", type=int, help="The ticket this one duplicates (for duplicate).")
@json_option
@reports_errors
def state_command(
    number: int, state: str, reason: str, duplicate_of: int | None, as_json: bool
) -> None:
    """Triage, resolve, refuse (wont_fix), mark as duplicate, or reopen (open) a ticket (the
    data manager)."""
    payload = {"state": state, "reason": reason, "duplicate_of": duplicate_of}
    with connect() as client:
        item = client.post_json(f"tickets/{number}/state", payload)
    if as_json:
        emit_json(item)
        return
    click.echo(f"ticket {number} is now {printable(item['state_label'])}")
