"""What the file commands print: sizes, dates, names, JSON, progress bars and tree reports."""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from datetime import datetime
from typing import Any

import click

from cohortvault.files.cli.failures import exit_code_of
from cohortvault.files.client import Entry, TreeReport


def human(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(size)


def when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else "-"


def shown_name(entry: Entry) -> str:
    return entry.name + ("/" if entry.is_folder else "")


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


class Meter:
    """A progress bar on stderr that appears once the total is known (none with --quiet)."""

    def __init__(self, label: str, *, quiet: bool, unit: str = "bytes") -> None:
        self.label, self.quiet, self.unit = label, quiet, unit
        self.stack = ExitStack()
        self.bar: Any = None

    def start(self, total: int | None) -> None:
        if self.quiet or total is None or self.bar is not None:
            return
        self.bar = self.stack.enter_context(
            click.progressbar(
                length=total,
                label=self.label,
                file=sys.stderr,
                show_pos=self.unit == "files",
                show_eta=True,
                item_show_func=self._bytes if self.unit == "bytes" else None,
            )
        )

    def _bytes(self, _: object) -> str:
        return f"{human(self.bar.pos)} of {human(self.bar.length)}" if self.bar else ""

    def update(self, steps: int) -> None:
        if self.bar is not None and steps:
            self.bar.update(steps)

    def __enter__(self) -> Meter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stack.close()


def report_tree(report: TreeReport, verb: str, where: str, *, quiet: bool) -> None:
    if not quiet:
        click.echo(f"{verb} {report.files} files ({human(report.bytes)}) {where}")
    for name, error in report.failed:
        click.echo(f"Error: {name}: {error}", err=True)
    if report.failed:
        raise click.exceptions.Exit(exit_code_of(report.failed[0][1]))
