"""Creating and opening an instance's data directory, for the command line.

Django reads its settings from the data directory named in ``COHORTVAULT_DATA_DIR``; every
command therefore names the directory first (``--data-dir``) and sets Django up afterwards.
"""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from cohortvault import config

F = TypeVar("F", bound=Callable[..., Any])

MASTER_KEY_FILE = "master.key"


def is_instance(data_dir: Path) -> bool:
    return (data_dir / config.CONFIG_FILE_NAME).exists()


def activate(data_dir: Path) -> None:
    """Point Django at ``data_dir`` and set it up (once per process)."""
    import django
    from django.conf import settings

    data_dir = data_dir.resolve()
    os.umask(0o077)  # the database, keys and blobs this process creates are the owner's only
    if settings.configured:
        if Path(settings.DATA_DIR) != data_dir:
            raise click.ClickException("this process already opened another instance")
        return
    os.environ[config.DATA_DIR_ENV] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cohortvault.settings")
    try:
        django.setup()
    except config.ConfigurationError as exc:
        raise click.ClickException(f"configuration: {exc}") from None


def create(
    data_dir: Path,
    *,
    production: bool = False,
    database_url: str = "",
) -> None:
    """Lay out a new data directory: configuration with a fresh secret, master key, database."""
    if is_instance(data_dir):
        raise click.ClickException(f"{data_dir} already holds an instance")
    if (data_dir / MASTER_KEY_FILE).exists():
        raise click.ClickException(f"{data_dir} holds a master key but no configuration")
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    data_dir.chmod(0o700)
    extra: dict[str, Any] = {}
    if production:
        extra["production"] = True
    if database_url:
        extra["database_url"] = database_url
    config.write_initial(data_dir, secret_key=secrets.token_urlsafe(50), extra=extra)
    write_master_key(data_dir / MASTER_KEY_FILE)
    activate(data_dir)
    migrate()


def discard(data_dir: Path) -> None:
    """Undo ``create`` when the step after it failed (say, a weak administrator password), so
    that ``cohortvault init`` can simply be run again: remove the configuration, the master key
    and the embedded database, which hold nothing yet (an external database keeps its empty
    schema, which ``init`` reuses). Only for an instance just created."""
    from django.conf import settings
    from django.db import connections

    connections.close_all()
    paths = [data_dir / config.CONFIG_FILE_NAME, data_dir / MASTER_KEY_FILE]
    if not settings.CONFIG.database_url:
        paths.append(Path(settings.DATABASES["default"]["NAME"]))
    for path in paths:
        path.unlink(missing_ok=True)


def write_master_key(path: Path) -> None:
    """Generate the instance master key (an age X25519 identity), readable by the owner only."""
    import pyrage

    from cohortvault.storage.keyfile import write_identity_file

    write_identity_file(path, pyrage.x25519.Identity.generate(), replace=False)


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def pending_migrations() -> list[str]:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]


def data_dir_option(func: F) -> F:
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar=config.DATA_DIR_ENV,
        required=True,
        help="The instance's data directory (or set COHORTVAULT_DATA_DIR).",
    )(func)


def with_instance(func: F) -> F:
    """Add ``--data-dir``, open that existing instance, and audit as the command line."""

    @data_dir_option
    @functools.wraps(func)
    def wrapper(*args: Any, data_dir: Path, **kwargs: Any) -> Any:
        if not is_instance(data_dir):
            raise click.ClickException(
                f"{data_dir} is not a cohortvault instance (create one with `cohortvault init`)"
            )
        activate(data_dir)
        from cohortvault.audit.trail import bind
        from cohortvault.errors import CohortvaultError

        with bind(channel="cli"):
            try:
                return func(*args, **kwargs)
            except CohortvaultError as exc:
                raise click.ClickException(exc.message) from None

    return wrapper  # type: ignore[return-value]
