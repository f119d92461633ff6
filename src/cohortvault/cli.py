"""The ``cohortvault`` command: set up, serve and look after an instance.

Each domain contributes its own command group (``audit``, …); this module only assembles them.
Exit codes: 0 success, 1 a problem was found or the operation failed, 2 wrong usage.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from cohortvault import __version__, instance
from cohortvault.audit.cli import audit
from cohortvault.catalog.cli import dictionary
from cohortvault.corrections.cli import corrections
from cohortvault.datasets.cli import datasets
from cohortvault.deliveries.cli import deliveries
from cohortvault.files.cli import files, login, logout
from cohortvault.imports.cli import imports
from cohortvault.projects.cli import projects
from cohortvault.storage.cli import keys, storage
from cohortvault.tickets.cli import tickets


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cohortvault")
def main() -> None:
    """cohortvault: store, find and share sensitive cohort data under auditable access control."""


main.add_command(audit)
main.add_command(keys)
main.add_command(storage)
main.add_command(login)
main.add_command(logout)
main.add_command(files)
main.add_command(dictionary)
main.add_command(datasets)
main.add_command(imports)
main.add_command(deliveries)
main.add_command(projects)
main.add_command(tickets)
main.add_command(corrections)


@main.command()
@instance.data_dir_option
@click.option("--admin-username", default="admin", show_default=True, help="First administrator.")
@click.option("--admin-email", default="", help="The administrator's e-mail address.")
@click.option(
    "--admin-password",
    envvar="COHORTVAULT_ADMIN_PASSWORD",
    prompt="Password for the first administrator",
    hide_input=True,
    confirmation_prompt=True,
    help="Asked for interactively unless given (or set in COHORTVAULT_ADMIN_PASSWORD).",
)
@click.option("--production", is_flag=True, help="Production mode (refuses default secrets).")
@click.option("--database-url", default="", help="PostgreSQL URL; default is embedded SQLite.")
def init(
    data_dir: Path,
    admin_username: str,
    admin_email: str,
    admin_password: str,
    production: bool,
    database_url: str,
) -> None:
    """Create a new, empty instance in DATA_DIR with its first administrator."""
    instance.create(data_dir, production=production, database_url=database_url)
    from cohortvault.audit.trail import bind
    from cohortvault.consortium.services import bootstrap_administrator
    from cohortvault.errors import CohortvaultError

    with bind(channel="cli"):
        try:
            bootstrap_administrator(
                username=admin_username, password=admin_password, email=admin_email
            )
        except CohortvaultError as exc:
            instance.discard(data_dir)
            details = "; ".join(str(d) for d in exc.details)
            raise click.ClickException(
                f"{exc.message} {details} The instance was not created; run init again."
            ) from None
    click.echo(f"Created an instance in {data_dir.resolve()}.")
    click.echo(
        f"Start it with `cohortvault serve --data-dir {data_dir.resolve()}` and sign in as "
        f"{admin_username!r}; you will enrol an authenticator app at the first sign-in."
    )


@main.command()
@instance.data_dir_option
def demo(data_dir: Path) -> None:
    """Create an instance in DATA_DIR filled with a synthetic consortium (does not serve it)."""
    instance.create(data_dir)
    from django.test.utils import override_settings

    from cohortvault.audit.trail import bind
    from cohortvault.demo import CREDENTIALS_FILE
    from cohortvault.demo.build import build

    # The demo's notifications are kept in the app; none is mailed while building it.
    with (
        bind(channel="cli"),
        override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"),
    ):
        credentials = build(data_dir)
    click.echo(f"Created a demo instance in {data_dir.resolve()} with {len(credentials)} users.")
    click.echo(f"Their passwords and authenticator secrets are in {data_dir / CREDENTIALS_FILE}.")


@main.command("demo-otp")
@click.argument("username")
@instance.data_dir_option
def demo_otp(username: str, data_dir: Path) -> None:
    """Print the current one-time code of a demo user (demo instances only)."""
    from cohortvault.demo import CREDENTIALS_FILE, current_code

    path = data_dir / CREDENTIALS_FILE
    if not path.exists():
        raise click.ClickException(f"{path} does not exist: this is not a demo instance")
    users = {entry["username"]: entry for entry in json.loads(path.read_text())}
    if username not in users:
        raise click.ClickException(f"no demo user {username!r}; known: {', '.join(sorted(users))}")
    click.echo(current_code(users[username]["totp_secret"]))


@main.command()
@instance.with_instance
def migrate() -> None:
    """Apply database migrations (run after upgrading cohortvault)."""
    instance.migrate()
    click.echo("Database is up to date.")


@main.command()
@instance.with_instance
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="Worker processes.")
@click.option("--threads", default=8, show_default=True, type=int, help="Threads per worker.")
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the instance's web pages and API (gunicorn), collecting garbage periodically."""
    from django.conf import settings
    from django.db import connections

    from cohortvault import server

    pending = instance.pending_migrations()
    if pending:
        raise click.ClickException(
            f"{len(pending)} database migration(s) pending; run `cohortvault migrate` first"
        )
    from cohortvault.wsgi import application

    connections.close_all()  # the workers open their own after the fork
    click.echo(f"cohortvault {__version__} serving on http://{host}:{port}/ (Ctrl-C stops)")
    server.serve(
        application,
        data_dir=Path(settings.DATA_DIR),
        host=host,
        port=port,
        workers=workers,
        threads=threads,
        trusted_proxies=settings.COHORTVAULT_TRUSTED_PROXIES,
        gc_interval=settings.COHORTVAULT_GC_INTERVAL,
        quality_check_interval=settings.COHORTVAULT_QUALITY_CHECK_INTERVAL,
    )


@main.group()
def docs() -> None:
    """Print generated reference pages."""


@docs.command("settings")
def settings_page() -> None:
    """The settings reference (docs/settings.md is this output)."""
    from cohortvault.config import Config, settings_markdown

    click.echo(settings_markdown(Config), nl=False)


if __name__ == "__main__":
    main()
