"""The exit codes the file commands promise, and the decorator that turns errors into them."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from cohortvault.files.client import ClientError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_ERROR = 1
EXIT_NOT_FOUND = 3
EXIT_DENIED = 4
EXIT_CONFLICT = 5
EXIT_INVALID = 6
EXIT_TOO_LARGE = 7
EXIT_INTERRUPTED = 130
EXIT_BY_STATUS = {
    400: EXIT_INVALID,
    401: EXIT_DENIED,
    403: EXIT_DENIED,
    404: EXIT_NOT_FOUND,
    409: EXIT_CONFLICT,
    413: EXIT_TOO_LARGE,
    422: EXIT_INVALID,
    507: EXIT_TOO_LARGE,
}
MAX_DETAILS = 50
LOGIN_AGAIN = "run `cohortvault login --server URL`"


class Failure(Exception):
    """An error with the exit code its kind promises."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.code = exit_code


def exit_code_of(error: ClientError) -> int:
    return EXIT_BY_STATUS.get(error.status, EXIT_ERROR)


def failure_of(error: ClientError) -> Failure:
    if error.status == 401 and error.code == "not_authenticated":
        return Failure(
            f"the server did not accept your token (expired or revoked): {LOGIN_AGAIN}",
            EXIT_DENIED,
        )
    lines = [d for d in error.details if isinstance(d, str)]
    shown = "".join(f"\n  {_escaped(line)}" for line in lines[:MAX_DETAILS])
    if len(lines) > MAX_DETAILS:
        shown += f"\n  … and {len(lines) - MAX_DETAILS} more"
    return Failure(str(error) + shown, exit_code_of(error))


def _escaped(text: str) -> str:
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def reports_errors(command: F) -> F:
    """Turn client errors into messages and exit codes; Ctrl-C into exit 130."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            try:
                return command(*args, **kwargs)
            except ClientError as exc:
                raise failure_of(exc) from None
        except Failure as failure:
            click.echo(f"Error: {failure.message}", err=True)
            raise click.exceptions.Exit(failure.code) from None
        except OSError as exc:
            click.echo(f"Error: {exc}", err=True)
            raise click.exceptions.Exit(EXIT_ERROR) from None
        except KeyboardInterrupt:
            click.echo(
                "Interrupted. Run the same command again to resume a large upload.", err=True
            )
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None

    return wrapper  # type: ignore[return-value]
