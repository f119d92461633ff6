"""``cohortvault projects …``: proposals, decisions and agreements from the command line.

``list``, ``show``, ``submit``, ``decide``, ``agreements`` and ``agreement-set`` talk to the
server's API after ``cohortvault login`` (exit codes as for ``cohortvault files``).
``enforce`` runs on the server against an instance (``--data-dir``): it closes every project
whose transfer agreement has expired, as each garbage collection does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import click

from cohortvault.files.cli.config import connect
from cohortvault.files.cli.failures import reports_errors
from cohortvault.files.cli.output import emit_json
from cohortvault.files.client import ClientError
from cohortvault.instance import with_instance

F = TypeVar("F", bound=Callable[..., Any])
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def explained(command: F) -> F:
    """Show the server's list of problems (a refused proposal lists each one) with its error."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ClientError as exc:
            lines = [str(d) for d in exc.details if isinstance(d, str)]
            if lines:
                exc.message += "".join(f"\n  - {line}" for line in lines)
            raise

    return wrapper  # type: ignore[return-value]


def _segment(value: str) -> str:
    return quote(value, safe="")


@click.group()
def projects() -> None:
    """Project proposals, the general assembly's decisions and transfer agreements (after
    `cohortvault login`)."""


def _line(item: dict[str, Any]) -> str:
    project = f"  → project {item['project']}" if item["project"] else ""
    return f"{item['id']:>5}  {item['state']:<10} {item['code']:<24} {item['title']}{project}"


@projects.command("list")
@click.option(
    "--view",
    type=click.Choice(["mine", "awaiting", "all"]),
    default="all",
    show_default=True,
    help="mine: I wrote it or am on it; awaiting: my decision.",
)
@json_option
@reports_errors
@explained
def list_command(view: str, as_json: bool) -> None:
    """Proposals you may see, most recently changed first."""
    with connect() as client:
        found = client.get_json("proposals", view=view)
    if as_json:
        emit_json(found)
        return
    for item in found:
        click.echo(_line(item))


@projects.command("show")
@click.argument("proposal_id", type=int)
@json_option
@reports_errors
@explained
def show(proposal_id: int, as_json: bool) -> None:
    """One proposal, its decision and the subjects each site could contribute."""
    with connect() as client:
        item = client.get_json(f"proposals/{proposal_id}")
        counts = client.get_json(f"proposals/{proposal_id}/availability")
    if as_json:
        emit_json({**item, "availability": counts})
        return
    click.echo(_line(item))
    click.echo(f"author:     {item['author']}")
    click.echo(f"PI:         {item['principal_investigator']}")
    click.echo(f"members:    {', '.join(item['members']) or '-'}")
    for name in ("variables", "sites", "studies", "timepoints"):
        click.echo(f"{name + ':':<11} {', '.join(item[name]) or '-'}")
    if item["outcome"]:
        click.echo(f"decision:   {item['outcome']} ({item['meeting_date']}, {item['reference']})")
    for text in (item["conditions"], item["decision_reason"]):
        if text:
            click.echo(f"            {text}")
    for row in counts:
        click.echo(f"  {row['site']:<12} {row['shown']}")


@projects.command("submit")
@click.argument("proposal_id", type=int)
@reports_errors
@explained
def submit(proposal_id: int) -> None:
    """Submit your draft to the general assembly (it is frozen then)."""
    with connect() as client:
        item = client.post_json(f"proposals/{proposal_id}/submit", {})
    click.echo(f"submitted proposal {item['id']} ({item['code']})")


@projects.command("decide")
@click.argument("proposal_id", type=int)
@click.option(
    "--outcome",
    type=click.Choice(["approved", "approved_with_conditions", "rejected"]),
    required=True,
)
@click.option("--meeting-date", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--reference", required=True, help="The minutes number.")
@click.option("--conditions", default="", help="Required with approved_with_conditions.")
@click.option("--reason", default="", help="Required for a rejection.")
@json_option
@reports_errors
@explained
def decide(
    proposal_id: int,
    outcome: str,
    meeting_date: Any,
    reference: str,
    conditions: str,
    reason: str,
    as_json: bool,
) -> None:
    """Record the general assembly's decision (an approver not named on the proposal)."""
    payload = {
        "outcome": outcome,
        "meeting_date": meeting_date.date().isoformat(),
        "reference": reference,
        "conditions": conditions,
        "reason": reason,
    }
    with connect() as client:
        item = client.post_json(f"proposals/{proposal_id}/decision", payload)
    if as_json:
        emit_json(item)
        return
    click.echo(f"proposal {item['id']}: {item['outcome']}")
    if item["project"]:
        click.echo(f"project {item['project']} created; access requests await the administrator")


@projects.command("agreements")
@click.argument("code")
@json_option
@reports_errors
@explained
def agreements(code: str, as_json: bool) -> None:
    """A project's transfer agreements and what blocks extraction."""
    with connect() as client:
        project = client.get_json(f"projects/{_segment(code)}")
    if as_json:
        emit_json(project)
        return
    click.echo(f"project {project['code']} ({project['status']}): {project['title']}")
    for a in project["agreements"]:
        valid = "valid" if a["valid"] else "not valid"
        documents = f"{len(a['documents'])} document(s)"
        dates = f"signed {a['signed_on'] or '-'}, expires {a['expires_on'] or '-'}"
        click.echo(f"  {a['site']:<12} {a['status']:<10} {valid:<9} {dates}, {documents}")
    for blocker in project["blockers"]:
        click.echo(f"blocked: {blocker}")
    if not project["blockers"]:
        click.echo("extraction may run")


@projects.command("agreement-set")
@click.argument("code")
@click.argument("site")
@click.option(
    "--status", type=click.Choice(["pending", "signed", "expired", "terminated"]), required=True
)
@click.option("--signed", "signed_on", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--expires", "expires_on", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--note", default="")
@click.option(
    "--document",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The signed agreement (PDF), stored encrypted.",
)
@reports_errors
@explained
def agreement_set(
    code: str,
    site: str,
    status: str,
    signed_on: Any,
    expires_on: Any,
    note: str,
    document: Path | None,
) -> None:
    """Record a site's agreement for a project (the data manager)."""
    payload = {
        "status": status,
        "signed_on": _day(signed_on),
        "expires_on": _day(expires_on),
        "note": note,
    }
    route = f"projects/{_segment(code)}/agreements/{_segment(site)}"
    with connect() as client:
        item = client.post_json(route, payload)
        if document is not None:
            content = document.read_bytes()
            response = client.http.put(
                f"{client.api}/{route}/document",
                params={"filename": document.name},
                content=content,
                headers={"Content-Type": "application/pdf"},
            )
            if not response.is_success:
                raise ClientError.of(response)
    click.echo(f"agreement of {item['site']} for {code}: {item['status']}")
    if document is not None:
        click.echo(f"stored {document.name} ({len(content)} bytes, encrypted)")


def _day(value: Any) -> str | None:
    return value.date().isoformat() if value is not None else None


@projects.command("enforce")
@with_instance
def enforce() -> None:
    """Close every project whose transfer agreement has expired (on the server)."""
    from cohortvault.projects.services import enforce_agreements

    closed = enforce_agreements()
    for line in closed:
        click.echo(line)
    click.echo(f"closed {len(closed)} project(s) as of {date.today().isoformat()}")
