"""``cohortvault dictionary …``: import, export, show and compare versions of the data
dictionary on the server, acting as a named user (``--as``; the system for reads without it).

Exit codes: 0 success, 1 refused or invalid (every problem is printed), 2 wrong usage.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from cohortvault.instance import with_instance

if TYPE_CHECKING:
    from cohortvault.access.policy import Principal

FORMATS = ("json", "csv", "xlsx")
F = TypeVar("F", bound=Callable[..., Any])


@click.group()
def dictionary() -> None:
    """The data dictionary: the consortium's harmonized variables, versioned."""


def acting_as(username: str | None) -> Principal:
    """The named user's principal, with the memberships in force now (the system without)."""
    from django.contrib.auth import get_user_model

    from cohortvault.access.policy import Principal
    from cohortvault.consortium.services import principal_for_user

    if username is None:
        return Principal.system()
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise click.ClickException(f"there is no active user {username!r}")
    return principal_for_user(user)


def as_option(required: bool) -> Callable[[F], F]:
    return click.option(
        "--as",
        "username",
        required=required,
        metavar="USERNAME",
        help="Act as this user (a data manager, to change the dictionary)."
        if required
        else "Act as this user (default: the system).",
    )


@dictionary.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@as_option(required=True)
@click.option("--note", default="", help="What changed and why (shown in the history).")
@click.option(
    "--format",
    "format_",
    type=click.Choice(FORMATS),
    help="The file's format (default: from its name).",
)
@with_instance
def import_(file: Path, username: str, note: str, format_: str | None) -> None:
    """Import FILE (JSON Table Schema, CSV or XLSX) as the next version and publish it."""
    from cohortvault.catalog import services
    from cohortvault.errors import Invalid

    principal = acting_as(username)
    if file.stat().st_size > services.MAX_DICTIONARY_BYTES:
        raise click.ClickException(f"{file} is larger than a dictionary file may be (4 MiB)")
    try:
        created = services.import_dictionary(
            principal, file.read_bytes(), format=format_ or file.name, note=note
        )
    except Invalid as exc:
        for problem in exc.details:
            click.echo(_problem_line(problem), err=True)
        raise click.ClickException(exc.message) from None
    for warning in created.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(
        f"Stored version {created.number} ({created.variables} variables) and published it "
        f"to {services.PUBLISHED_FOLDER}/."
    )


def _problem_line(problem: Any) -> str:
    if not isinstance(problem, dict):
        return f"  {problem}"
    where = ", ".join(
        str(problem[k]) for k in ("location", "variable", "property") if problem.get(k)
    )
    return f"  {where}: {problem.get('message', '')}" if where else f"  {problem.get('message')}"


@dictionary.command()
@click.option("--format", "format_", type=click.Choice(FORMATS), default="json", show_default=True)
@click.option("--version", "number", type=click.IntRange(min=1), help="Default: the current one.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout."
)
@as_option(required=False)
@with_instance
def export(format_: str, number: int | None, output: Path | None, username: str | None) -> None:
    """Write a version as JSON Table Schema, CSV or XLSX."""
    from cohortvault.catalog import services

    data = services.export_dictionary(number, format_, principal=acting_as(username))
    if output is not None:
        output.write_bytes(data)
        click.echo(f"Wrote {output} ({len(data)} bytes).", err=True)
        return
    if format_ == "xlsx" and sys.stdout.isatty():
        raise click.ClickException("an XLSX workbook is not for the terminal; give -o FILE")
    with click.open_file("-", "wb") as stdout:
        stdout.write(data)


@dictionary.command()
@click.option("--version", "number", type=click.IntRange(min=1), help="Default: the current one.")
@as_option(required=False)
@with_instance
def show(number: int | None, username: str | None) -> None:
    """List the variables of a version: name, type, unit, valid values and label."""
    from cohortvault.catalog import markdown, services

    principal = acting_as(username)
    info = services.version_info(number, principal)
    shown = services.version(info.number, principal)
    click.echo(
        f"Data dictionary version {info.number}: {info.variables} variables, imported by "
        f"{info.created_by} on {info.created_at:%Y-%m-%d %H:%M}"
    )
    width = max(len(v.name) for v in shown.variables)
    for domain, variables in markdown.domains(shown).items():
        click.echo(f"\n[{domain}]")
        for v in variables:
            kind = v.type.value + (f" {v.unit}" if v.unit else "")
            label = v.label if len(v.label) <= 36 else v.label[:35] + "…"
            values = markdown.valid_values(v)
            click.echo(f"  {v.name:<{width}}  {kind:<16}  {label:<36}  {values}".rstrip())


@dictionary.command()
@as_option(required=False)
@with_instance
def log(username: str | None) -> None:
    """The versions, newest first, with what each changed."""
    from cohortvault.catalog import services

    for entry in services.history(acting_as(username)):
        info = entry.info
        changes = entry.changes.summary() if entry.changes else "first version"
        click.echo(
            f"{info.number:>4}  {info.created_at:%Y-%m-%d %H:%M}  {info.created_by:<16} "
            f"{info.variables:>4} variables  {changes}"
            + (f"\n      {info.note}" if info.note else "")
        )


@dictionary.command()
@click.argument("old", type=click.IntRange(min=1))
@click.argument("new", type=click.IntRange(min=1))
@as_option(required=False)
@with_instance
def diff(old: int, new: int, username: str | None) -> None:
    """What changed from version OLD to version NEW."""
    from cohortvault.catalog import services

    changes = services.diff(old, new, principal=acting_as(username))
    click.echo(f"Version {changes.old} → {changes.new}: {changes.summary()}")
    for v in changes.added:
        click.echo(f"+ {v.name}  {v.label}")
    for v in changes.removed:
        click.echo(f"- {v.name}  {v.label}")
    for change in changes.changed:
        click.echo(f"~ {change.name}")
        for c in change.changes:
            click.echo(f"    {c.name}: {c.old_text} → {c.new_text}")


@dictionary.command()
@as_option(required=True)
@with_instance
def publish(username: str) -> None:
    """Write the current version to logs/data-dictionary/ again (imports do it themselves)."""
    from cohortvault.catalog import services

    for path in services.publish(acting_as(username)):
        click.echo(f"wrote {path}")
