"""``authorize``: the policy decision plus the audit entry of a refusal, for service functions.

Call it before opening the transaction of the change: a refusal raises, and a refusal recorded
inside a transaction that then rolls back would be lost.
"""

from __future__ import annotations

from cohortvault.access.policy import Action, Decision, Principal, Resource, decide
from cohortvault.audit.trail import Outcome, record
from cohortvault.errors import NotFound, PermissionDenied


def authorize(
    principal: Principal,
    action: Action,
    resource: Resource,
    *,
    conceal: bool = False,
    target: str | None = None,
) -> Decision:
    """Return the allowing decision, or audit the refusal and raise.

    With ``conceal`` a refusal looks exactly like a missing object (``NotFound``), for objects
    the caller may not even know exist.
    """
    decision = decide(principal, action, resource)
    if not decision.allowed:
        record(
            f"access.{action}",
            actor=principal,
            outcome=Outcome.DENIED,
            target=target or str(resource),
            reason=decision.reason,
        )
        if conceal:
            raise NotFound()
        raise PermissionDenied()
    return decision
