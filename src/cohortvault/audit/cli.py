"""``cohortvault audit …``: verify the chain, print its head for safekeeping."""

from __future__ import annotations

import sys

import click

from cohortvault.instance import with_instance


@click.group()
def audit() -> None:
    """The tamper-evident audit trail."""


@audit.command()
@with_instance
def verify() -> None:
    """Check every entry's hash and link; exit 1 if anything was edited, deleted or reordered."""
    from cohortvault.audit.models import AuditEntry
    from cohortvault.audit.trail import verify as verify_chain

    total = AuditEntry.objects.count()
    with click.progressbar(length=total, label="Verifying audit trail", file=sys.stderr) as bar:
        done = 0

        def advance(count: int) -> None:
            nonlocal done
            bar.update(count - done)
            done = count

        result = verify_chain(progress=advance)
        bar.update(result.entries - done)
    if result.ok:
        head = f"#{result.last_seq} {result.last_hash}"
        click.echo(f"ok: {result.entries} entries, chain intact, head {head}")
        return
    for problem in result.problems:
        click.echo(f"PROBLEM {problem}", err=True)
    click.echo(f"{len(result.problems)} problem(s) in {result.entries} entries", err=True)
    raise SystemExit(1)


@audit.command()
@with_instance
def head() -> None:
    """Print the last entry's number and hash, to write down or publish outside the instance."""
    from cohortvault.audit.models import AuditHead

    current = AuditHead.objects.get(pk=1)
    click.echo(f"#{current.seq} {current.hash}")
