"""``GET /me``: who am I, what are my roles, which areas can I reach and what may I do there."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from cohortvault.access.policy import Action
from cohortvault.access.requirements import requires
from cohortvault.consortium import services

router = Router(tags=["me"])


class NamedCode(Schema):
    code: str
    name: str


class AreaOut(Schema):
    path: str
    kind: str
    permissions: list[str]


class MeOut(Schema):
    username: str
    full_name: str
    email: str
    roles: list[str]
    sites: list[NamedCode]
    projects: list[NamedCode]
    areas: list[AreaOut]


@router.get("/me", response=MeOut)
@requires(action=Action.READ, resource="own overview")
def me(request: HttpRequest) -> MeOut:
    """The caller's roles, sites, projects and reachable areas with their permissions."""
    overview = services.overview(request.principal, request.user)  # type: ignore[attr-defined]
    user = request.user
    return MeOut(
        username=user.get_username(),
        full_name=user.get_full_name(),  # type: ignore[union-attr]
        email=user.email or "",  # type: ignore[union-attr]
        roles=sorted(role.value for role in overview.principal.roles),
        sites=[NamedCode(code=s.code, name=s.name) for s in overview.sites],
        projects=[NamedCode(code=p.code, name=p.title) for p in overview.projects],
        areas=[
            AreaOut(
                path=a.area.path,
                kind=a.area.kind.value,
                permissions=[action.value for action in a.actions],
            )
            for a in overview.areas
        ],
    )
