"""The access policy: who may do what on which area or facility. Imports no domain app."""

from cohortvault.access.policy import (
    Action,
    Area,
    AreaKind,
    Decision,
    Facility,
    Principal,
    Request,
    RequestKind,
    Resource,
    Role,
    Scope,
    Step,
    decide,
)
from cohortvault.access.requirements import Requirement, Stage, requires

__all__ = [
    "Action",
    "Area",
    "AreaKind",
    "Decision",
    "Facility",
    "Principal",
    "Request",
    "RequestKind",
    "Requirement",
    "Resource",
    "Role",
    "Scope",
    "Stage",
    "Step",
    "decide",
    "requires",
]
