"""What the ``corrections`` commands share: the group, options, and how times print."""

from __future__ import annotations

from datetime import datetime

import click

from cohortvault.files.cli.output import when


def time_of(text: str | None) -> str:
    return when(datetime.fromisoformat(text)) if text else "-"


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
reason_option = click.option(
    "--reason", required=True, help="Why the data are corrected (kept with the new version)."
)


@click.group()
def corrections() -> None:
    """Corrections of site data for error tickets, their re-deliveries, consent withdrawals and
    the error log (after `cohortvault login`). Exit codes: 0 ok, 1 error, 2 usage, 3 not found,
    4 not logged in or not allowed, 5 conflict, 6 invalid input (nothing was changed)."""
