"""Correcting a ticket's data, and following corrections and their re-deliveries."""

from __future__ import annotations

import csv
import mimetypes
from pathlib import Path
from typing import Any

import click

from cohortvault.corrections.cli.common import corrections, json_option, reason_option, time_of
from cohortvault.datasets.cli import diff_options, printable, write_diff
from cohortvault.files.cli.config import connect
from cohortvault.files.cli.failures import EXIT_INVALID, Failure, reports_errors
from cohortvault.files.cli.output import Meter, emit_json

EDIT_COLUMNS = ("subject_id", "timepoint", "variable", "value")


# --- correcting ------------------------------------------------------------------------------


@corrections.command("correct")
@click.argument("ticket", type=int)
@click.option(
    "--edit",
    "edits",
    multiple=True,
    metavar="SUBJECT,TIMEPOINT,VARIABLE,VALUE",
    help="One cell and its new value (repeatable); an empty VALUE makes the cell missing. "
    "VALUE may itself contain commas.",
)
@click.option(
    "--edits-file",
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
    help="A CSV file with the header subject_id,timepoint,variable,value, one cell a line.",
)
@reason_option
@json_option
@reports_errors
def correct(
    ticket: int, edits: tuple[str, ...], edits_file: Path | None, reason: str, as_json: bool
) -> None:
    """Correct cells of the ticket's dataset (the data manager): a new version of the site's
    dataset, checked like an import, that resolves the ticket. Refused as a whole (exit 6)
    when any edit cannot be made."""
    cells = [_edit(text) for text in edits]
    if edits_file is not None:
        cells += _edits_file(edits_file)
    if not cells:
        raise click.UsageError("give the cells to correct with --edit or --edits-file")
    with connect() as client:
        made = client.post_json(
            f"tickets/{ticket}/corrections/cells", {"edits": cells, "reason": reason}
        )
    _made(made, as_json)


def _edit(text: str) -> dict[str, str | None]:
    parts = text.split(",", 3)
    if len(parts) != 4 or not all(p.strip() for p in parts[:3]):
        raise click.BadParameter(
            f"{text!r} is not SUBJECT,TIMEPOINT,VARIABLE,VALUE", param_hint="--edit"
        )
    return _cell(*parts)


def _cell(subject: str, timepoint: str, variable: str, value: str) -> dict[str, str | None]:
    """One edit for the API; spaces around the parts are dropped, and an empty value is
    missing."""
    return {
        "subject_id": subject.strip(),
        "timepoint": timepoint.strip(),
        "variable": variable.strip(),
        "value": value.strip() or None,
    }


def _edits_file(path: Path) -> list[dict[str, str | None]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as source:
            reader = csv.DictReader(source)
            header = [name.strip() for name in reader.fieldnames or []]
            if sorted(header) != sorted(EDIT_COLUMNS):
                raise Failure(
                    f"{path}: the header must be {','.join(EDIT_COLUMNS)} (it is "
                    f"{','.join(header) or 'empty'})",
                    EXIT_INVALID,
                )
            reader.fieldnames = header
            found = []
            for row in reader:
                if None in row or any(row[c] is None for c in EDIT_COLUMNS):
                    raise Failure(
                        f"{path}, line {reader.line_num}: expected 4 fields", EXIT_INVALID
                    )
                found.append(_cell(*(row[c] for c in EDIT_COLUMNS)))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise Failure(f"{path}: not a UTF-8 CSV file ({exc})", EXIT_INVALID) from None
    return found


@corrections.command("correct-file")
@click.argument("ticket", type=int)
@click.argument(
    "path",
    metavar="FILE",
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
)
@reason_option
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@json_option
@reports_errors
def correct_file(ticket: int, path: Path, reason: str, quiet: bool, as_json: bool) -> None:
    """Correct the ticket's dataset with a corrected file (the data manager): stored in the
    site's import area, checked like any import and accepted when it has no errors; refused
    (exit 6, the import rejected, nothing else changed) when it has."""
    size = path.stat().st_size
    with (
        connect() as client,
        path.open("rb") as source,
        Meter(path.name, quiet=quiet or as_json) as meter,
    ):
        meter.start(size)
        made = client.put_body(
            f"tickets/{ticket}/corrections/file",
            source,
            size,
            progress=meter.update,
            content_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
            name=path.name,
            reason=reason,
        )
    _made(made, as_json)


def _made(made: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(made)
        return
    click.echo(f"correction {made['id']}: {summary_of(made)}; ticket {made['ticket']} is resolved")
    _affected(made)


def summary_of(item: dict[str, Any]) -> str:
    parts = []
    if item["cells"] or not (item["rows_added"] or item["rows_removed"]):
        what = f"{item['cells']} value(s)"
        if item["variables"]:
            what += " of " + ", ".join(printable(v) for v in item["variables"])
        parts.append(what)
    if item["rows_added"]:
        parts.append(f"{item['rows_added']} row(s) added")
    if item["rows_removed"]:
        parts.append(f"{item['rows_removed']} row(s) removed")
    return (
        f"{', '.join(parts)} in {printable(item['site'])}/{printable(item['study'])} "
        f"version {item['old_version']} → {item['new_version']}"
    )


def _affected(item: dict[str, Any]) -> None:
    for a in item["affected"]:
        if a["redelivery"] is not None:
            status = f"re-delivered as {a['redelivery']:03d}"
        elif a["pending"]:
            status = "waits for re-delivery"
        else:
            status = "a later delivery carries it"
        problem = f" (problem: {printable(a['problem'])})" if a["problem"] else ""
        click.echo(
            f"  project {printable(a['project'])} delivery {a['delivery']:03d}: "
            f"{a['cells']} cell(s) of {', '.join(printable(v) for v in a['variables'])}, "
            f"{status}{problem}"
        )


# --- reading ---------------------------------------------------------------------------------


def _line(item: dict[str, Any]) -> str:
    cause = f"ticket {item['ticket']}" if item["ticket"] else f"withdrawal {item['withdrawal']}"
    waiting = sum(1 for a in item["affected"] if a["pending"])
    pending = f"  {waiting} project(s) waiting" if waiting else ""
    return (
        f"{item['id']:>5}  {item['kind']:<10} {cause:<14} {summary_of(item)}  "
        f"{printable(item['created_by'])} {time_of(item['created_at'])}{pending}"
    )


@corrections.command("list")
@click.option("--ticket", type=int, help="Only this ticket's corrections.")
@click.option("--site", help="Only this site's corrections.")
@json_option
@reports_errors
def list_command(ticket: int | None, site: str | None, as_json: bool) -> None:
    """Corrections of the sites whose data you read, newest first."""
    with connect() as client:
        found = client.get_json("corrections", ticket=ticket, site=site)
    if as_json:
        emit_json(found)
        return
    for item in found:
        click.echo(_line(item))


@corrections.command("show")
@click.argument("number", type=int)
@json_option
@reports_errors
def show(number: int, as_json: bool) -> None:
    """One correction: what changed, why, and the deliveries it reached."""
    with connect() as client:
        item = client.get_json(f"corrections/{number}")
    if as_json:
        emit_json(item)
        return
    click.echo(f"correction {item['id']} ({printable(item['kind_label'])})")
    cause = f"ticket {item['ticket']}" if item["ticket"] else f"withdrawal {item['withdrawal']}"
    rows = [
        ("for", cause),
        ("changed", summary_of(item)),
        ("import", "-" if item["import_id"] is None else str(item["import_id"])),
        ("reason", printable(item["reason"]) if item["reason"] else "-"),
        ("made", f"{time_of(item['created_at'])} by {printable(item['created_by'])}"),
    ]
    for label, value in rows:
        click.echo(f"{label:<9}{value}")
    if item["affected"]:
        click.echo("deliveries reached:")
    _affected(item)


@corrections.command("changes")
@click.argument("number", type=int)
@diff_options
@reports_errors
def changes(number: int, fmt: str, output: str) -> None:
    """The cell-level change log: every changed cell with its old and new value."""
    with connect() as client:
        write_diff(client, f"corrections/{number}/changes", fmt, output)


@corrections.command("pending")
@json_option
@reports_errors
def pending(as_json: bool) -> None:
    """Corrections whose projects still wait for a corrected delivery (the data manager)."""
    with connect() as client:
        found = client.get_json("corrections/pending")
    if as_json:
        emit_json(found)
        return
    for item in found:
        waiting = sorted({printable(a["project"]) for a in item["affected"] if a["pending"]})
        click.echo(f"{_line(item)}\n       waiting: {', '.join(waiting)}")


@corrections.command("redeliver")
@click.argument("number", type=int)
@click.option("--project", help="Only this project (default: every project still waiting).")
@json_option
@reports_errors
def redeliver(number: int, project: str | None, as_json: bool) -> None:
    """Give every project still waiting for correction N its corrected delivery (the data
    manager); exit 5 when some could not be re-delivered (the others were)."""
    with connect() as client:
        made = client.post_json(f"corrections/{number}/redeliver", {"project": project})
    if as_json:
        emit_json(made)
        return
    if not made:
        click.echo(f"no project waits for correction {number}")
    for d in made:
        click.echo(
            f"project {printable(d['project'])}: delivery {d['number']:03d} in "
            f"{printable(d['folder'])}/"
        )
