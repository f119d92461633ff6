"""The access policy: who may do what on which area or facility. Imports no domain app."""

from cohortvault.access.policy import (
    Action,
    Area,
    AreaKind,
    Decision,
    Facility,
    Principal,
    Resource,
    Role,
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
    "Requirement",
    "Resource",
    "Role",
    "Stage",
    "decide",
    "requires",
]
