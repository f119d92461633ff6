"""``cohortvault datasets …``: the versions of site datasets on a cohortvault server, from a
shell. Like ``cohortvault files`` these commands talk to the REST API with the token kept by
``cohortvault login`` (or ``COHORTVAULT_SERVER`` and ``COHORTVAULT_TOKEN``), and share its
exit codes: 0 success, 1 other errors, 2 wrong usage, 3 not found (also datasets you may not
see), 4 not logged in or not allowed, 6 invalid input, 130 interrupted.

Downloads (``export``, and ``diff`` with ``-o``) land in a temporary file next to the
destination and are renamed into place only once complete.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

import click

from cohortvault.datasets import client as api
from cohortvault.datasets.client import Version, save_atomically
from cohortvault.files.cli.config import connect
from cohortvault.files.cli.failures import EXIT_NOT_FOUND, Failure, reports_errors
from cohortvault.files.cli.output import emit_json, human, when
from cohortvault.files.client import Connection


def printable(value: Any) -> str:
    """Server text made safe for a terminal: control characters shown as escapes."""
    if value is None:
        return "(empty)"
    text = str(value)
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)


def write_output(output: str, write: Callable[[IO[bytes]], int]) -> int:
    """Write to ``output`` atomically, or to standard output for ``-``."""
    if output == "-":
        return write(sys.stdout.buffer)
    target = Path(output)
    if not target.parent.is_dir():
        raise Failure(f"{target.parent}: no such folder", EXIT_NOT_FOUND)
    return save_atomically(target, write)


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def diff_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--format`` and ``--output`` of the commands that print a diff (``write_diff``)."""
    command = click.option(
        "-o",
        "--output",
        default="-",
        metavar="FILE",
        help="Write to FILE (default: standard output).",
    )(command)
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json", "csv"]),
        default="text",
        show_default=True,
        help="text: one line per change; json and csv: the API's full forms.",
    )(command)


def write_diff(client: Connection, route: str, fmt: str, output: str, **params: Any) -> None:
    """The diff at ``route`` to ``output``: the API's JSON or CSV as sent, or text lines."""
    if fmt in ("json", "csv"):
        write_output(output, lambda sink: api.download(client, route, sink, format=fmt, **params))
        return
    lines = "".join(f"{line}\n" for line in text_lines(client.get_json(route, **params)))
    data = lines.encode("utf-8")

    def write(sink: IO[bytes]) -> int:
        sink.write(data)
        return len(data)

    write_output(output, write)


@click.group()
def datasets() -> None:
    """Site datasets and their versions on a cohortvault server (after `cohortvault login`).
    Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 not logged in or not allowed,
    6 invalid input."""


@datasets.command("list")
@json_option
@reports_errors
def list_command(as_json: bool) -> None:
    """The datasets you may read, with their latest versions."""
    with connect() as client:
        found = api.list_datasets(client)
    if as_json:
        emit_json([asdict(d) for d in found])
        return
    for d in found:
        latest = d.latest
        click.echo(
            f"{d.site}/{d.study}\t{d.versions} version(s)\tlatest {latest.number}: "
            f"{latest.rows} rows × {latest.columns} columns, {when(latest.created_at)}"
        )


@datasets.command("log")
@click.argument("site")
@click.argument("study")
@json_option
@reports_errors
def log(site: str, study: str, as_json: bool) -> None:
    """The versions of a dataset, newest first."""
    with connect() as client:
        found = api.versions(client, site, study)
    if as_json:
        emit_json([asdict(v) for v in found])
        return
    for v in found:
        origin = printable(v.source) if v.source else "-"
        click.echo(
            f"{v.number:>4}  {when(v.created_at)}  {v.created_by:<12} "
            f"{v.rows:>9} rows {v.columns:>4} cols  {origin}"
            + (f"\n      {printable(v.reason)}" if v.reason else "")
        )


@datasets.command("show")
@click.argument("site")
@click.argument("study")
@click.argument("number", type=click.IntRange(min=1), required=False)
@json_option
@reports_errors
def show(site: str, study: str, number: int | None, as_json: bool) -> None:
    """What a version (the latest without N) holds, who made it, when and why."""
    with connect() as client:
        version = api.version(client, site, study, number)
    if as_json:
        emit_json(asdict(version))
        return
    _show(version)


def _show(v: Version) -> None:
    click.echo(f"{v.site}/{v.study} version {v.number}")
    for label, value in [
        ("rows", str(v.rows)),
        ("columns", str(v.columns)),
        ("created", f"{when(v.created_at)} by {v.created_by}"),
        ("source", printable(v.source) if v.source else "-"),
        ("import", "-" if v.import_id is None else str(v.import_id)),
        ("reason", printable(v.reason) if v.reason else "-"),
        ("dictionary", "-" if v.dictionary_version is None else f"version {v.dictionary_version}"),
        ("size", human(v.size)),
        ("checksum", v.checksum),
        ("column names", ", ".join(printable(c) for c in v.column_names)),
    ]:
        click.echo(f"{label:<13}{value}")


@datasets.command("diff")
@click.argument("site")
@click.argument("study")
@click.argument("old", type=click.IntRange(min=1))
@click.argument("new", type=click.IntRange(min=1))
@diff_options
@reports_errors
def diff(site: str, study: str, old: int, new: int, fmt: str, output: str) -> None:
    """Every change from version OLD to version NEW: columns and rows added and removed, and
    each changed cell."""
    with connect() as client:
        write_diff(client, api.route(site, study, "diff"), fmt, output, old=old, new=new)


def text_lines(found: dict[str, Any]) -> list[str]:
    lines = [f"{found['site']}/{found['study']} version {found['old']} → {found['new']}: "]
    lines[0] += str(found["summary"])
    lines += [f"+ column {printable(c)}" for c in found["columns_added"]]
    lines += [f"- column {printable(c)}" for c in found["columns_removed"]]
    lines += [
        f"~ column {printable(r['column'])}: {r['old']} → {r['new']}"
        for r in found["columns_retyped"]
    ]
    for sign, kind in (("-", "rows_removed"), ("+", "rows_added")):
        lines += [
            f"{sign} row {printable(r['subject_id'])} {printable(r['timepoint'])}"
            for r in found[kind]
        ]
    lines += [
        f"~ {printable(c['subject_id'])} {printable(c['timepoint'])} {printable(c['column'])}: "
        f"{printable(c['old'])} → {printable(c['new'])}"
        for c in found["changes"]
    ]
    return lines


@datasets.command("export")
@click.argument("site")
@click.argument("study")
@click.argument("number", type=click.IntRange(min=1))
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True
)
@click.option(
    "-o", "--output", required=True, metavar="FILE", help="The file to write (- for stdout)."
)
@reports_errors
def export(site: str, study: str, number: int, fmt: str, output: str) -> None:
    """Download version N as spreadsheet-safe CSV, or as the stored Parquet file."""
    if output == "-" and fmt == "parquet" and sys.stdout.isatty():
        raise click.UsageError("a Parquet file is not for the terminal; give -o FILE")
    with connect() as client:
        path = api.route(site, study, "versions", str(number), "export")
        size = write_output(output, lambda sink: api.download(client, path, sink, format=fmt))
    if output != "-":
        click.echo(f"wrote {output} ({human(size)})", err=True)
