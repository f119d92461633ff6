"""The consortium's doors: who a user is (their principal), what they can reach, and the
administrator's changes to sites, studies, timepoints, projects and memberships."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.utils import timezone

from cohortvault.access.guard import authorize
from cohortvault.access.policy import (
    GLOBAL_ROLES,
    Action,
    Area,
    Facility,
    Principal,
    Role,
    decide,
)
from cohortvault.audit.trail import record
from cohortvault.consortium.models import Group, Membership, Project, Site, Study, Timepoint
from cohortvault.errors import Conflict, Invalid, NotFound
from cohortvault.identity.services import create_user

__all__ = [
    "AREA_ACTIONS",
    "AreaAccess",
    "Overview",
    "bootstrap_administrator",
    "create_project",
    "create_site",
    "create_study",
    "create_timepoint",
    "delete_record",
    "end_membership",
    "grant_membership",
    "group_for",
    "overview",
    "principal_for_user",
    "reachable_areas",
    "record_password_reset",
    "save_record",
]

AREA_ACTIONS = (
    Action.LIST,
    Action.READ,
    Action.WRITE,
    Action.DELETE,
    Action.EXPORT,
    Action.APPROVE,
)


def principal_for_user(user: Any) -> Principal:
    """The user's principal from the memberships in force at this moment."""
    if not getattr(user, "is_active", False):
        return Principal.anonymous()
    global_roles: set[Role] = set()
    sites: set[str] = set()
    contact_sites: set[str] = set()
    projects: set[str] = set()
    memberships = (
        Membership.objects.active()
        .filter(user=user)
        .select_related("group__site", "group__project")
    )
    for membership in memberships:
        group = membership.group
        role = Role(group.role)
        if role in GLOBAL_ROLES:
            global_roles.add(role)
        elif role is Role.SITE_MEMBER and group.site is not None:
            sites.add(group.site.code)
            if membership.is_contact:
                contact_sites.add(group.site.code)
        elif (
            role is Role.PROJECT_MEMBER
            and group.project is not None
            and group.project.status == Project.Status.ACTIVE
        ):
            projects.add(group.project.code)
    return Principal(
        user_id=user.pk,
        username=user.get_username(),
        global_roles=frozenset(global_roles),
        sites=frozenset(sites),
        projects=frozenset(projects),
        contact_sites=frozenset(contact_sites),
    )


@dataclass(frozen=True)
class AreaAccess:
    area: Area
    actions: tuple[Action, ...]
    title: str


def reachable_areas(principal: Principal) -> list[AreaAccess]:
    """Every area the principal may at least list, with everything it may do there."""
    candidates: list[tuple[Area, str]] = []
    if principal.username and not principal.is_system:
        candidates.append((Area.home(principal.username), "My home"))
    candidates.append((Area.logs(), "Common area (logs)"))
    for site in Site.objects.order_by("code"):
        candidates.append((Area.site_data(site.code), f"{site.name}: data"))
        candidates.append((Area.site_import(site.code), f"{site.name}: import"))
    for project in Project.objects.filter(status=Project.Status.ACTIVE).order_by("code"):
        candidates.append((Area.project(project.code), f"Project {project.title}"))
    reachable = []
    for area, title in candidates:
        actions = tuple(a for a in AREA_ACTIONS if decide(principal, a, area).allowed)
        if Action.LIST in actions:
            reachable.append(AreaAccess(area=area, actions=actions, title=title))
    return reachable


@dataclass(frozen=True)
class Overview:
    principal: Principal
    sites: list[Site]
    projects: list[Project]
    areas: list[AreaAccess]
    memberships: list[Membership]


def overview(principal: Principal, user: Any) -> Overview:
    """What the dashboard and ``GET /api/v1/me`` show: my roles, sites, projects and areas."""
    return Overview(
        principal=principal,
        sites=list(Site.objects.filter(code__in=principal.sites)),
        projects=list(Project.objects.filter(code__in=principal.projects)),
        areas=reachable_areas(principal),
        memberships=list(
            Membership.objects.active()
            .filter(user=user)
            .select_related("group__site", "group__project")
        ),
    )


def group_for(role: Role, *, site: Site | None = None, project: Project | None = None) -> Group:
    group, _ = Group.objects.get_or_create(role=role.value, site=site, project=project)
    return group


def bootstrap_administrator(*, username: str, password: str, email: str = "") -> Any:
    """Create the first administrator of a new instance; refused once one exists."""
    with transaction.atomic():
        if Membership.objects.filter(group__role=Role.ADMINISTRATOR).exists():
            raise Conflict("This instance already has an administrator.")
        user = create_user(username=username, password=password, email=email)
        Membership.objects.create(
            user=user, group=group_for(Role.ADMINISTRATOR), reason="first administrator"
        )
        record(
            "membership.grant",
            actor=Principal.system(),
            target=f"user {username}",
            details={"group": Role.ADMINISTRATOR.value},
            reason="first administrator of a new instance",
        )
    return user


def _administer(principal: Principal, target: str) -> None:
    authorize(principal, Action.ADMINISTER, Facility.CONSORTIUM, target=target)


def _label(obj: models.Model) -> str:
    return f"{obj._meta.model_name} {obj}"


def save_record(
    principal: Principal, obj: models.Model, *, changed: list[str] | None = None
) -> models.Model:
    """Create or update a consortium record (site, study, timepoint, project, group), audited."""
    created = obj.pk is None
    _administer(principal, _label(obj))
    try:
        obj.full_clean()
    except Exception as exc:
        raise Invalid(str(exc)) from None
    with transaction.atomic():
        obj.save()
        record(
            f"consortium.{obj._meta.model_name}.{'create' if created else 'update'}",
            actor=principal,
            target=_label(obj),
            details={"changed": changed or []},
        )
    return obj


def delete_record(principal: Principal, obj: models.Model) -> None:
    label = _label(obj)
    _administer(principal, label)
    with transaction.atomic():
        try:
            obj.delete()
        except models.ProtectedError:
            raise Conflict(f"{label} is still in use.") from None
        record(f"consortium.{obj._meta.model_name}.delete", actor=principal, target=label)


def create_site(principal: Principal, *, code: str, name: str, country: str) -> Site:
    site = save_record(principal, Site(code=code, name=name, country=country.upper()))
    return site  # type: ignore[return-value]


def create_study(principal: Principal, *, site: Site, code: str, name: str) -> Study:
    return save_record(principal, Study(site=site, code=code, name=name))  # type: ignore[return-value]


def create_timepoint(
    principal: Principal, *, study: Study, code: str, label: str, order: int
) -> Timepoint:
    timepoint = Timepoint(study=study, code=code, label=label, order=order)
    return save_record(principal, timepoint)  # type: ignore[return-value]


def create_project(principal: Principal, *, code: str, title: str) -> Project:
    return save_record(principal, Project(code=code, title=title))  # type: ignore[return-value]


def grant_membership(
    principal: Principal,
    *,
    username: str,
    role: Role,
    site: Site | None = None,
    project: Project | None = None,
    valid_until: datetime | None = None,
    reason: str = "",
) -> Membership:
    """Add a user to a role group (administrator only); takes effect at their next request."""
    target = f"user {username}"
    _administer(principal, target)
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise NotFound(f"No user {username!r}.")
    if (role is Role.SITE_MEMBER) != (site is not None) or (
        (role is Role.PROJECT_MEMBER) != (project is not None)
    ):
        raise Invalid("Site membership needs a site, project membership a project, others neither.")
    with transaction.atomic():
        group = group_for(role, site=site, project=project)
        if Membership.objects.active().filter(user=user, group=group).exists():
            raise Conflict(f"{username} is already in {group}.")
        membership = Membership.objects.create(
            user=user,
            group=group,
            valid_until=valid_until,
            granted_by_id=principal.user_id,
            reason=reason,
        )
        record(
            "membership.grant",
            actor=principal,
            target=target,
            reason=reason,
            details={
                "group": str(group),
                "valid_until": valid_until.isoformat() if valid_until else None,
            },
        )
    return membership


def end_membership(principal: Principal, membership: Membership, *, reason: str = "") -> None:
    """End a membership now; it stays in the history. Takes effect at the user's next request."""
    target = f"user {membership.user}"
    _administer(principal, target)
    with transaction.atomic():
        membership.ended_at = timezone.now()
        membership.save(update_fields=["ended_at"])
        record(
            "membership.end",
            actor=principal,
            target=target,
            reason=reason,
            details={"group": str(membership.group)},
        )


def record_password_reset(principal: Principal, user: Any) -> None:
    """Audit a password the administrator set for someone (Django's admin form saved it)."""
    _administer(principal, f"user {user.get_username()}")
    with transaction.atomic():
        record("user.password_reset", actor=principal, target=f"user {user.get_username()}")
