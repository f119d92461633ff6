"""Who is asking: roles, a credential's scope, and the ``Principal`` that carries them.

Apart from the rules so that the code which builds principals (identity, consortium) reads
only what a principal is, not what it may do.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMINISTRATOR = "administrator"
    DATA_MANAGER = "data_manager"
    SITE_MEMBER = "site_member"
    PROJECT_MEMBER = "project_member"
    EXPORTER = "exporter"
    APPROVER = "approver"
    DATA_PROTECTION_OFFICER = "data_protection_officer"


#: Roles that hold consortium-wide, not per site or per project.
GLOBAL_ROLES = frozenset(
    {
        Role.ADMINISTRATOR,
        Role.DATA_MANAGER,
        Role.EXPORTER,
        Role.APPROVER,
        Role.DATA_PROTECTION_OFFICER,
    }
)


class Scope(StrEnum):
    """How much of its user's power a credential carries (personal API tokens narrow it)."""

    FULL = "full"
    READ_ONLY = "read_only"
    PROJECT = "project"
    AGGREGATE = "aggregate"


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user with the memberships valid right now, or the system itself."""

    user_id: int | None
    username: str
    global_roles: frozenset[Role] = frozenset()
    sites: frozenset[str] = frozenset()
    projects: frozenset[str] = frozenset()
    is_system: bool = False
    contact_sites: frozenset[str] = frozenset()
    scope: Scope = Scope.FULL
    scope_project: str = ""

    def __post_init__(self) -> None:
        if not self.global_roles <= GLOBAL_ROLES:
            raise ValueError(f"not consortium-wide roles: {set(self.global_roles - GLOBAL_ROLES)}")

    @classmethod
    def anonymous(cls) -> Principal:
        return cls(user_id=None, username="")

    @classmethod
    def system(cls) -> Principal:
        return cls(user_id=None, username="system", is_system=True)

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None or self.is_system

    @property
    def roles(self) -> frozenset[Role]:
        roles = set(self.global_roles)
        if self.sites:
            roles.add(Role.SITE_MEMBER)
        if self.projects:
            roles.add(Role.PROJECT_MEMBER)
        return frozenset(roles)

    def has(self, role: Role) -> bool:
        return role in self.global_roles
