"""``cohortvault keys …``: paper backup and recovery of the master key, its rotation, and
the area keys it protects.

Secrets never reach the terminal: paper shares go only into the page ``keys paper-backup``
writes, and ``keys recover`` reads shares from files or hidden prompts.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import click
import pyrage

from cohortvault.instance import with_instance
from cohortvault.storage.cli.common import (
    ENVIRONMENT_KEY,
    audit,
    key_errors,
    key_from_environment,
)
from cohortvault.storage.keyfile import MasterKeyError
from cohortvault.storage.paper import (
    ShareError,
    ShareSet,
    render_paper_backup,
    split_shares,
    write_new_private_file,
)


@click.group()
def keys() -> None:
    """The master key and the area keys it protects."""


# --- paper backup ---------------------------------------------------------------------------


@keys.command("paper-backup")
@click.option(
    "--shares", "share_count", type=click.IntRange(1, 16), required=True, help="Shares to make."
)
@click.option(
    "--threshold", type=click.IntRange(1, 16), required=True, help="Shares needed to recover."
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The HTML page to write (must not exist yet).",
)
@with_instance
@key_errors
def paper_backup(share_count: int, threshold: int, output: Path) -> None:
    """Write the master key as THRESHOLD-of-SHARES paper shares (SLIP-39) to a printable page.

    Only the page holds the words; nothing secret is printed here.
    """
    from django.db import transaction
    from django.utils import timezone

    from cohortvault.access.policy import Principal
    from cohortvault.audit.trail import record
    from cohortvault.storage import keys as keyring

    if output.exists() or output.is_symlink():
        raise click.ClickException(f"{output} already exists; choose a new file name")
    if not output.parent.is_dir():
        raise click.ClickException(f"{output.parent} is not a directory")
    mnemonics = keyring.paper_shares(threshold=threshold, shares=share_count)
    recipient = str(keyring.master_identity().to_public())
    page = render_paper_backup(
        mnemonics,
        threshold=threshold,
        recipient=recipient,
        made=timezone.localdate().isoformat(),
    )
    with transaction.atomic():
        record(
            "keys.paper_backup",
            actor=Principal.system(),
            target=recipient,
            details={"shares": share_count, "threshold": threshold},
        )
        try:
            write_new_private_file(output, page)
        except FileExistsError:
            raise click.ClickException(f"{output} already exists; choose a new file name") from None
        except OSError as exc:
            raise click.ClickException(f"cannot write {output}: {exc.strerror}") from None
    click.echo(str(output.resolve()))
    click.echo(
        f"Warning: this file holds all {share_count} shares, so it is a full copy of the master "
        f"key. Print it, put each page in a different safe, then delete the file for good.",
        err=True,
    )


# --- recovery -------------------------------------------------------------------------------


def prompt_shares(collected: ShareSet) -> None:
    """Ask for shares with hidden input until there are enough."""
    while not collected.complete:
        have = len(collected.shares)
        need = f" of {collected.needed}" if collected.needed else ""
        text = click.prompt(
            f"Words of share {have + 1}{need} (hidden)",
            hide_input=True,
            err=True,
        )
        try:
            collected.add(text)
        except ShareError as exc:
            click.echo(f"Not accepted: {exc}", err=True)
            continue
        if len(collected.shares) == have:
            click.echo("Not accepted: that share was already given.", err=True)
        else:
            click.echo(f"Accepted share {len(collected.shares)} of {collected.needed}.", err=True)


@contextlib.contextmanager
def refusal_audited(action: str, target: str) -> Iterator[None]:
    """Record a refused or failed attempt before its error reaches the operator."""
    from cohortvault.errors import CohortvaultError

    try:
        yield
    except (click.ClickException, CohortvaultError) as exc:
        audit(action, target=target, outcome="failed", reason=exc.message)
        raise


@keys.command()
@click.option(
    "--share-file",
    "share_files",
    multiple=True,
    type=click.File("r", encoding="utf-8"),
    help="A file with one share's words, or one share per line ('-' reads standard input). "
    "Repeatable; shares still missing are asked for.",
)
@click.option("--force", is_flag=True, help="Replace an existing key file (if it is the same key).")
@with_instance
@key_errors
def recover(share_files: tuple[IO[str], ...], force: bool) -> None:
    """Rebuild the master key file from paper shares.

    The rebuilt key must be the one the instance's area keys are wrapped with; otherwise
    nothing is written.
    """
    from django.db import transaction

    from cohortvault.access.policy import Principal
    from cohortvault.audit.trail import record
    from cohortvault.storage import keys as keyring
    from cohortvault.storage.keyfile import write_identity_file

    path = keyring.master_key_path()
    with refusal_audited("keys.recover", str(path)):
        if key_from_environment():
            raise click.ClickException(
                f"the master key comes from {ENVIRONMENT_KEY}; unset it to recover the key file"
            )
        if path.exists() and not force:
            raise click.ClickException(
                f"{path} exists; move it aside or pass --force to replace it with the same key"
            )
        collected = ShareSet()
        for handle in share_files:
            for number, text in enumerate(split_shares(handle.read()), start=1):
                try:
                    collected.add(text)
                except ShareError as exc:
                    raise click.ClickException(f"{handle.name}, share {number}: {exc}") from None
        if not collected.complete:
            if sys.stdin.isatty():
                prompt_shares(collected)
            elif not share_files:
                for text in split_shares(sys.stdin.read()):
                    try:
                        collected.add(text)
                    except ShareError as exc:
                        raise click.ClickException(f"standard input: {exc}") from None
        if not collected.complete:
            raise click.ClickException(
                f"{len(collected.shares)} share(s) given but {collected.needed or 'more'} needed"
            )
        try:
            identity = keyring.recover_identity(collected.mnemonics())
        except pyrage.IdentityError as exc:  # a secret of another length, from another tool
            raise click.ClickException(f"the shares do not hold an age key: {exc}") from None
        recipient = str(identity.to_public())
        expected = keyring.expected_master_recipients()
        if expected and expected != {recipient}:
            raise click.ClickException(
                f"the shares rebuild master key {recipient}, but this instance's area keys are "
                f"wrapped with {', '.join(sorted(expected))}: they belong to another instance or "
                f"to a key replaced by `keys rotate-master`. Nothing was written."
            )
        replaced = path.exists()
        with transaction.atomic():
            record(
                "keys.recover",
                actor=Principal.system(),
                target=str(path),
                details={
                    "shares": len(collected.mnemonics()),
                    "public_key": recipient,
                    "replaced_file": replaced,
                    "checked_against_area_keys": bool(expected),
                },
            )
            try:
                write_identity_file(path, identity, replace=force)
            except FileExistsError:
                raise click.ClickException(
                    f"{path} appeared meanwhile; nothing was written"
                ) from None
    keyring.forget_cached_keys()
    click.echo(f"Wrote {path} (mode 0600) with master key {recipient}.")
    if not expected:
        click.echo(
            "Note: the instance has no area keys yet, so the key could not be checked against it.",
            err=True,
        )


# --- rotation, destruction, overview --------------------------------------------------------


@keys.command("rotate-master")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_instance
@key_errors
def rotate_master(yes: bool) -> None:
    """Re-wrap every area key under a new master key and replace the key file.

    Run it while the server and other commands are stopped. Paper shares of the old key stop
    working: make new ones afterwards.
    """
    from cohortvault.errors import CohortvaultError
    from cohortvault.storage import keys as keyring

    if key_from_environment():
        raise click.ClickException(
            f"the master key comes from {ENVIRONMENT_KEY}; rotate it in your secret store"
        )
    old = str(keyring.master_identity().to_public())
    if not yes:
        click.confirm(
            "Replace the master key? Every existing paper share stops working.",
            abort=True,
            err=True,
        )
    try:
        new = str(keyring.rotate_master())
    except (CohortvaultError, MasterKeyError) as exc:
        audit("keys.rotate_master", target=old, outcome="failed", reason=str(exc))
        raise
    except OSError as exc:
        audit("keys.rotate_master", target=old, outcome="failed", reason=str(exc))
        raise click.ClickException(
            f"the rotation stopped: {exc}. The next command that opens the master key (for "
            f"example `cohortvault keys show`) completes or undoes it."
        ) from None
    audit("keys.rotate_master", target=new, details={"old_public_key": old, "new_public_key": new})
    click.echo(f"New master key: {new}")
    click.echo(
        "Old paper shares no longer work: make new ones now with `cohortvault keys paper-backup` "
        "and destroy the old ones.",
        err=True,
    )


@keys.command()
@click.argument("area_root")
@click.option("--yes-really", is_flag=True, help="Confirm that the area's content is to be erased.")
@with_instance
def destroy(area_root: str, yes_really: bool) -> None:
    """Destroy the key of the area AREA_ROOT (e.g. projects/alpha): its content becomes
    unreadable for good (crypto-shredding). Cannot be undone."""
    from django.db import transaction

    from cohortvault.access.policy import Principal
    from cohortvault.audit.trail import record
    from cohortvault.storage import keys as keyring

    area_root = area_root.strip("/")
    if not yes_really:
        raise click.ClickException(
            f"destroying the key of {area_root} erases its content for good and cannot be "
            f"undone; repeat with --yes-really"
        )
    with transaction.atomic():
        count = keyring.destroy_area_key(area_root)
        record("keys.destroy", actor=Principal.system(), target=area_root, details={"blobs": count})
    click.echo(f"Destroyed the key of {area_root}: {count} blob(s) can never be read again.")
    click.echo(
        "Database backups made before now still hold this key, wrapped under the current master "
        "key: run `cohortvault keys rotate-master` and destroy the old paper shares to put those "
        "copies out of reach as well.",
        err=True,
    )


@keys.command()
@with_instance
def show() -> None:
    """The master public key, where the master key comes from, and the area keys."""
    from cohortvault.storage import keys as keyring
    from cohortvault.storage.models import AreaKey

    if key_from_environment():
        source = f"environment variable {ENVIRONMENT_KEY}"
    else:
        path = keyring.master_key_path()
        source = f"key file {path}"
        with contextlib.suppress(FileNotFoundError):
            source += f" (mode {path.stat().st_mode & 0o777:04o})"
    total = AreaKey.objects.count()
    destroyed = AreaKey.objects.filter(destroyed_at__isnull=False).count()
    expected = keyring.expected_master_recipients()
    try:
        public = str(keyring.master_identity().to_public())
    except MasterKeyError as exc:
        public, problem = "unavailable", str(exc)
    else:
        problem = ""
        if expected and expected != {public}:
            problem = f"the area keys are wrapped with {', '.join(sorted(expected))}, not this key"
    click.echo(f"master public key: {public}")
    click.echo(f"master key from:   {source}")
    click.echo(f"area keys:         {total - destroyed} ({destroyed} destroyed)")
    if problem:
        raise click.ClickException(problem)
