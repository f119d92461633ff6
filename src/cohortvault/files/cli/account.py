"""``cohortvault login`` and ``cohortvault logout``: get a token, and give it back."""

from __future__ import annotations

import sys

import click

from cohortvault.files.cli.config import (
    SERVER_ENV,
    Credentials,
    config_path,
    is_loopback,
    normal_server,
    read_credentials,
    write_credentials,
)
from cohortvault.files.cli.failures import EXIT_DENIED, Failure, reports_errors
from cohortvault.files.client import Client, ClientError, request_token


def ask(text: str, *, secret: bool = False, default: str | None = None) -> str:
    """Prompt on the terminal (hidden for secrets); read plain lines when stdin is a pipe."""
    value = click.prompt(text, hide_input=secret and sys.stdin.isatty(), default=default, err=True)
    return str(value).strip() if not secret else str(value)


@click.command()
@click.option(
    "--server", envvar=SERVER_ENV, help="The server's URL, e.g. https://vault.example.org."
)
@click.option("--username", help="Your username (asked for when not given).")
@reports_errors
def login(server: str | None, username: str | None) -> None:
    """Sign in to a server with password and one-time code, and keep the token for later
    commands (in ~/.config/cohortvault/client.json or $COHORTVAULT_CLIENT_CONFIG, mode 0600)."""
    path = config_path()
    try:
        stored = read_credentials(path)
    except Failure:
        stored = None  # a damaged file is simply replaced
    server = server or (stored.server if stored else None)
    if not server:
        raise click.UsageError("give the server's URL with --server")
    server = normal_server(server)
    if not server.startswith("https://") and not is_loopback(server):
        click.echo(f"Warning: {server} is not HTTPS; your password travels unencrypted.", err=True)
    if not username:
        remembered = stored.username if stored and stored.server == server else None
        username = ask("Username", default=remembered)
    password = ask("Password", secret=True)
    otp = ask("One-time code")
    try:
        token = request_token(server, username, password, otp)
    except ClientError as exc:
        if exc.status == 401:
            raise Failure(f"login refused: {exc.message}", EXIT_DENIED) from None
        raise
    expires = token.expires_at.isoformat() if token.expires_at else ""
    write_credentials(path, Credentials(server, token.token, expires, username))
    until = f" until {token.expires_at:%Y-%m-%d %H:%M %Z}" if token.expires_at else ""
    click.echo(f"Logged in to {server} as {username}{until}.")


@click.command()
@reports_errors
def logout() -> None:
    """Revoke the stored token on its server and forget it."""
    path = config_path()
    stored = read_credentials(path)
    if stored is None:
        click.echo("Not logged in.")
        return
    problem = ""
    try:
        with Client(stored.server, stored.token) as client:
            client.revoke_token()
    except ClientError as exc:
        if exc.status != 401:  # 401: already expired or revoked
            problem = str(exc)
    path.unlink(missing_ok=True)
    if problem:
        raise Failure(
            f"forgot the token, but could not revoke it ({problem}); "
            f"it stays valid until {stored.expires_at or 'it expires'}"
        )
    click.echo(f"Logged out of {stored.server}.")
