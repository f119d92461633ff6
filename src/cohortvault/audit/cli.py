"""``cohortvault audit …``: verify the chain, print its head for safekeeping."""

from __future__ import annotations

import sys

import click

from cohortvault.instance import with_instance


@click.group()
def audit() -> None:
    """The tamper-evident audit trail."""


def parse_anchor(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[int, str]:
    anchors = {}
    for value in values:
        number, _, digest = value.strip().lstrip("#").partition(" ")
        if not number.isdigit() or len(digest.strip()) != 64:
            raise click.BadParameter(
                f"expected '#N HASH' as printed by `audit head`, not {value!r}"
            )
        anchors[int(number)] = digest.strip()
    return anchors


@audit.command()
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    callback=parse_anchor,
    help="'#N HASH' from an earlier `audit head`, kept outside the instance (repeatable).",
)
@with_instance
def verify(anchors: dict[int, str]) -> None:
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

        result = verify_chain(progress=advance, anchors=anchors)
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

    current = AuditHead.objects.filter(pk=1).first()
    if current is None:
        raise click.ClickException("the chain head is missing: run `cohortvault audit verify`")
    click.echo(f"#{current.seq} {current.hash}")
