"""What a page or API route requires before its code runs, declared on the view itself.

The declaration does two jobs: the web gate (``web.middleware.AccessGateMiddleware``) enforces
its ``stage`` on every request, refusing views that declare nothing; and a contract test walks
every URL pattern and API route to check that each one declares the action and resource it
needs. The fine-grained decision on a concrete object is still taken by the service function,
through ``policy.decide``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from cohortvault.access.policy import Action

ATTRIBUTE = "cohortvault_requires"

F = TypeVar("F", bound=Callable[..., Any])


class Stage(StrEnum):
    """How far into authentication the caller must be."""

    PUBLIC = "public"  # anyone, e.g. the login page
    PASSWORD = "password"  # password accepted, second factor still to give  # noqa: S105
    ENROLMENT = "enrolment"  # password accepted, may enrol a first second factor
    VERIFIED = "verified"  # password and second factor: the only stage that reaches data


@dataclass(frozen=True)
class Requirement:
    stage: Stage
    action: Action | None = None
    resource: str | None = None

    def describe(self) -> str:
        if self.action is None:
            return f"{self.stage}"
        return f"{self.stage}: {self.action} {self.resource}"


def requires(
    stage: Stage = Stage.VERIFIED,
    action: Action | None = None,
    resource: str | None = None,
) -> Callable[[F], F]:
    """Declare what a view needs: ``@requires(action=Action.READ, resource="audit_trail")``."""
    if stage is Stage.VERIFIED and (action is None or resource is None):
        raise ValueError("a verified view must declare the action and resource it needs")
    requirement = Requirement(stage, action, resource)

    def mark(view: F) -> F:
        setattr(view, ATTRIBUTE, requirement)
        return view

    return mark


def requirement_of(view: Any) -> Requirement | None:
    """The requirement a view declared, looking through Django's class-based view wrappers."""
    for candidate in (view, getattr(view, "view_class", None), getattr(view, "__wrapped__", None)):
        if candidate is not None and isinstance(getattr(candidate, ATTRIBUTE, None), Requirement):
            return getattr(candidate, ATTRIBUTE)  # type: ignore[no-any-return]
    return None
