"""What the ``keys`` and ``storage`` commands share: a clean error for a missing or wrong
master key, and an audit entry recorded as the system."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from cohortvault.storage.keyfile import MasterKeyError

F = TypeVar("F", bound=Callable[..., Any])

ENVIRONMENT_KEY = "COHORTVAULT_MASTER_KEY"


def key_errors(func: F) -> F:
    """Show a missing or wrong master key as a clean error (exit 1), not a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MasterKeyError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]


def audit(
    action: str,
    *,
    target: str = "",
    details: dict[str, Any] | None = None,
    outcome: str = "ok",
    reason: str = "",
) -> None:
    """Record one entry as the system, in its own transaction."""
    from django.db import transaction

    from cohortvault.access.policy import Principal
    from cohortvault.audit.trail import record

    with transaction.atomic():
        record(
            action,
            actor=Principal.system(),
            target=target,
            details=details,
            outcome=outcome,
            reason=reason,
        )


def key_from_environment() -> bool:
    from django.conf import settings

    return bool(settings.CONFIG.master_key)
