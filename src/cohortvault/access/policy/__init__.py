"""The one policy function, ``decide(principal, action, resource)``, and the types it speaks.

Every service function asks it before it acts. It is pure (no database, no I/O) so that the
whole role × area × action matrix can be tested exhaustively. Import from here, not from the
modules: who asks (``principal``), the area model (``areas``), the other guarded things
(``resources``) and the rules (``decision``).
"""

from cohortvault.access.policy.areas import Area, AreaKind
from cohortvault.access.policy.decision import Action, Decision, decide
from cohortvault.access.policy.principal import GLOBAL_ROLES, Principal, Role, Scope
from cohortvault.access.policy.resources import (
    Facility,
    Request,
    RequestKind,
    Resource,
    Step,
    Ticket,
)

__all__ = [
    "GLOBAL_ROLES",
    "Action",
    "Area",
    "AreaKind",
    "Decision",
    "Facility",
    "Principal",
    "Request",
    "RequestKind",
    "Resource",
    "Role",
    "Scope",
    "Step",
    "Ticket",
    "decide",
]
