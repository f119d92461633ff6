"""The seam through which the consortium app tells shared code who a user is.

Shared infrastructure (the web gate, the API's authentication) needs a ``Principal`` for a
user, but the memberships that make one live in a domain app. That app registers its
resolver at start-up (``AppConfig.ready``); nothing imports it directly.
"""

from __future__ import annotations

from typing import Any, Protocol

from cohortvault.access.policy import Principal


class PrincipalResolver(Protocol):
    def __call__(self, user: Any) -> Principal: ...


_resolver: PrincipalResolver | None = None


def register(resolver: PrincipalResolver) -> None:
    global _resolver
    _resolver = resolver


def principal_for(user: Any) -> Principal:
    """The principal of an authenticated, active user; anonymous otherwise."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Principal.anonymous()
    if _resolver is None:
        raise RuntimeError("no principal resolver registered (is the consortium app installed?)")
    return _resolver(user)
