"""``cohortvault storage …``: verify the encrypted blob store and collect its garbage."""

from __future__ import annotations

import sys

import click

from cohortvault.instance import with_instance
from cohortvault.storage.cli.common import audit, key_errors


@click.group()
def storage() -> None:
    """The encrypted blob store."""


@storage.command()
@with_instance
@key_errors
def verify() -> None:
    """Decrypt every blob and check its size and checksum; exit 1 if any fails."""
    from cohortvault.storage.maintenance import verify_blobs
    from cohortvault.storage.models import Blob

    complete = Blob.objects.filter(complete=True)
    total = complete.count()
    shredded = complete.filter(area_key__destroyed_at__isnull=False).count()
    checked = 0
    with click.progressbar(length=total, label="Verifying blobs", file=sys.stderr) as bar:

        def advance(count: int) -> None:
            nonlocal checked
            bar.update(count - checked)
            checked = count

        problems = list(verify_blobs(progress=advance))
    details = {"blobs": checked, "shredded": shredded, "problems": len(problems)}
    if problems:
        audit("storage.verify", details=details, outcome="failed", reason=str(problems[0]))
        for problem in problems:
            click.echo(f"PROBLEM {problem}", err=True)
        click.echo(f"{len(problems)} problem(s) in {checked} blobs", err=True)
        raise SystemExit(1)
    audit("storage.verify", details=details)
    skipped = f" ({shredded} crypto-shredded, not readable)" if shredded else ""
    click.echo(f"ok: {checked - shredded} blobs verified{skipped}")


@storage.command()
@with_instance
def gc() -> None:
    """Remove what retention no longer keeps, stored blobs nothing refers to, and leftovers
    of interrupted writes."""
    from cohortvault.storage.maintenance import GRACE_SECONDS, collect_garbage

    report = collect_garbage()
    audit(
        "storage.gc",
        details={
            "purged": report.purged,
            "orphans_removed": report.orphans_removed,
            "shredded_removed": report.shredded_removed,
            "temporary_removed": report.temporary_removed,
        },
    )
    for kind, count in sorted(report.purged.items()):
        click.echo(f"{kind}: {count}")
    click.echo(f"unreferenced blobs removed: {report.orphans_removed}")
    click.echo(f"blobs of destroyed areas cleared: {report.shredded_removed}")
    click.echo(f"temporary files removed: {report.temporary_removed}")
    click.echo(f"(stored files younger than {GRACE_SECONDS // 60} minutes are always kept)")
