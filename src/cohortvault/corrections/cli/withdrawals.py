"""Consent withdrawals and the public error log."""

from __future__ import annotations

from typing import Any

import click

from cohortvault.corrections.cli.common import corrections, json_option, time_of
from cohortvault.corrections.cli.correcting import summary_of
from cohortvault.datasets.cli import printable
from cohortvault.files.cli.config import connect
from cohortvault.files.cli.failures import reports_errors
from cohortvault.files.cli.output import emit_json

# --- consent withdrawal ----------------------------------------------------------------------


@corrections.command("withdraw")
@click.option("--site", required=True, help="The participant's site.")
@click.option("--subject-id", required=True, help="The participant's subject ID.")
@click.option("--reason", default="", help="E.g. the letter it came in; never the subject.")
@json_option
@reports_errors
def withdraw(site: str, subject_id: str, reason: str, as_json: bool) -> None:
    """Record a consent withdrawal (the data manager): the subject leaves the site's data and
    the projects' current deliveries now, and every earlier copy once retention has passed."""
    payload = {"site": site, "subject_id": subject_id, "reason": reason}
    with connect() as client:
        made = client.post_json("withdrawals", payload)
    if as_json:
        emit_json(made)
        return
    _withdrawal(made)


def _withdrawal(item: dict[str, Any]) -> None:
    erased = (
        f"erased from earlier copies {time_of(item['erased_at'])}"
        if item["erased_at"]
        else f"earlier copies erased after {time_of(item['erase_after'])}"
    )
    click.echo(
        f"withdrawal {item['id']}: {printable(item['subject_id'])} at {printable(item['site'])}, "
        f"recorded {time_of(item['recorded_at'])} by {printable(item['recorded_by'])}; {erased}"
    )
    if item["reason"]:
        click.echo(f"  reason: {printable(item['reason'])}")
    for c in item["corrections"]:
        click.echo(f"  correction {c['id']}: {summary_of(c)}")


@corrections.command("withdrawals")
@click.argument("number", type=int, required=False)
@click.option("--site", help="Only this site's withdrawals.")
@json_option
@reports_errors
def withdrawals(number: int | None, site: str | None, as_json: bool) -> None:
    """Recorded consent withdrawals, or withdrawal N (the data manager)."""
    with connect() as client:
        if number is not None:
            found = [client.get_json(f"withdrawals/{number}")]
        else:
            found = client.get_json("withdrawals", site=site)
    if as_json:
        emit_json(found[0] if number is not None else found)
        return
    for item in found:
        _withdrawal(item)


# --- the error log ---------------------------------------------------------------------------


@corrections.command("error-log")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "csv"]),
    default="text",
    show_default=True,
)
@reports_errors
def error_log(fmt: str) -> None:
    """The public error log: what was found in the data and fixed, without values or
    subjects (everyone may read it)."""
    with connect() as client:
        if fmt == "csv":
            click.echo(client.get_text("error-log", format="csv"), nl=False)
            return
        found = client.get_json("error-log")
    if fmt == "json":
        emit_json(found)
    else:
        for row in found:
            click.echo(_log_line(row))


def _log_line(row: dict[str, Any]) -> str:
    fixed = f"fixed {printable(row['fixed'])}" if row["fixed"] else "not fixed yet"
    variables = ", ".join(printable(v) for v in row["variables"])
    line = (
        f"ticket {row['ticket']:>4}  {printable(row['site'])}/{printable(row['dataset'])}  "
        f"[{variables}]  {printable(row['state'])}, {row['values_corrected']} value(s) "
        f"corrected; reported {printable(row['reported'])}, {fixed}"
    )
    if row["projects_redelivered"]:
        line += "; re-delivered: " + ", ".join(printable(p) for p in row["projects_redelivered"])
    if row["projects_awaiting"]:
        line += "; waiting: " + ", ".join(printable(p) for p in row["projects_awaiting"])
    return line
