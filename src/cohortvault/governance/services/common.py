"""What the registration and access-change doors share: group references and the four-eyes
decision check."""

from __future__ import annotations

from dataclasses import dataclass

from cohortvault.access.guard import authorize
from cohortvault.access.policy import (
    Action,
    Principal,
    Request,
    Role,
)
from cohortvault.consortium import services as consortium
from cohortvault.consortium.models import Group, Project, Site
from cohortvault.errors import Invalid, NotAuthenticated, NotFound

#: Groups whose additions also need the general assembly's decision (an approver's).
ASSEMBLY_ROLES = frozenset({Role.EXPORTER, Role.DATA_MANAGER})


@dataclass(frozen=True)
class GroupRef:
    """A group named by role and, where it has one, its site or project code."""

    role: Role
    site: str = ""
    project: str = ""

    def resolve(self) -> Group:
        site = project = None
        if self.site:
            site = Site.objects.filter(code=self.site).first()
            if site is None:
                raise NotFound(f"No site {self.site!r}.")
        if self.project:
            project = Project.objects.filter(code=self.project).first()
            if project is None:
                raise NotFound(f"No project {self.project!r}.")
        if (self.role is Role.SITE_MEMBER) != (site is not None) or (
            (self.role is Role.PROJECT_MEMBER) != (project is not None)
        ):
            raise Invalid(
                "Site membership needs a site, project membership a project, others neither."
            )
        return consortium.group_for(self.role, site=site, project=project)


def actor_id(principal: Principal) -> int:
    if principal.user_id is None:
        raise NotAuthenticated()
    return principal.user_id


def require_fresh(fresh: bool) -> None:
    """Deciding access needs a second factor given moments ago, not only at sign-in."""
    if not fresh:
        raise NotAuthenticated("Confirm it is you: give a fresh one-time code or security key.")


def decide_step(principal: Principal, *, request: Request, target: str, fresh: bool) -> None:
    authorize(principal, Action.APPROVE, request, target=target)
    require_fresh(fresh)


MAX_NAME = 150
MAX_REASON = 2000


def text_problems(label: str, value: str, *, limit: int, one_line: bool) -> list[str]:
    """What is wrong with a free-text field, whatever door it came through."""
    problems = []
    if "\x00" in value:
        problems.append(f"{label} contains a NUL character")
    if one_line and ("\n" in value or "\r" in value):
        problems.append(f"{label} must be one line")
    if len(value) > limit:
        problems.append(f"{label} is longer than {limit} characters")
    return problems
