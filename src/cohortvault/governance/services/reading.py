"""What awaits whose decision, which requests someone may see, and the membership history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from cohortvault.access.guard import authorize
from cohortvault.access.policy import (
    GLOBAL_ROLES,
    Action,
    Facility,
    Principal,
    Request,
    Role,
    Step,
    decide,
)
from cohortvault.audit.trail import Outcome, record
from cohortvault.consortium.models import Group, Membership, Project, Site
from cohortvault.errors import NotFound
from cohortvault.governance.models import (
    AccessRequest,
    Decision,
    Registration,
)
from cohortvault.governance.services.access_changes import STEP_OF, policy_request
from cohortvault.governance.services.common import GroupRef, actor_id
from cohortvault.governance.services.registrations import registration_request

# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Queue:
    registrations: list[Registration]
    access_requests: list[AccessRequest]


def queue(principal: Principal) -> Queue:
    """What awaits this principal's decision (never their own requests, nor ones about them)."""
    registrations = [
        r
        for r in Registration.objects.select_related("site", "requested_by").filter(
            status__in=[
                Registration.Status.AWAITING_CONFIRMATION,
                Registration.Status.AWAITING_APPROVAL,
            ]
        )
        if _maydecide_step(principal, registration_request(r, _registration_step(r)))
    ]
    requests = [
        r
        for r in AccessRequest.objects.select_related(
            "subject", "requested_by", "group__site", "group__project"
        ).filter(status__in=list(STEP_OF))
        if _maydecide_step(principal, policy_request(r))
    ]
    return Queue(registrations=registrations, access_requests=requests)


def _registration_step(registration: Registration) -> Step:
    if registration.status == Registration.Status.AWAITING_CONFIRMATION:
        return Step.CONFIRM
    return Step.ADMINISTRATOR


def _maydecide_step(principal: Principal, request: Request) -> bool:
    return decide(principal, Action.APPROVE, request).allowed


def visible_requests(principal: Principal) -> QuerySet[AccessRequest]:
    """Access requests the principal may read: their own, about them, or all for deciders."""
    requests = AccessRequest.objects.select_related(
        "subject", "requested_by", "group__site", "group__project"
    )
    if principal.has(Role.ADMINISTRATOR):
        return requests
    me = Q(requested_by_id=principal.user_id) | Q(subject_id=principal.user_id)
    if principal.has(Role.APPROVER):
        me |= Q(status=AccessRequest.Status.AWAITING_ASSEMBLY) | Q(
            decisions__step=Step.ASSEMBLY.value
        )
    return requests.filter(me).distinct()


def visible_registrations(principal: Principal) -> QuerySet[Registration]:
    """Registrations the principal may read: all for the administrator and the data protection
    officer, otherwise those they asked for."""
    registrations = Registration.objects.select_related("site", "requested_by", "account")
    if principal.has(Role.ADMINISTRATOR) or principal.has(Role.DATA_PROTECTION_OFFICER):
        return registrations
    return registrations.filter(requested_by_id=principal.user_id or -1)


@dataclass(frozen=True)
class RegistrationDetail:
    registration: Registration
    decisions: list[Decision]
    step: Step | None  # the decision it awaits, if any
    may_decide: bool  # the principal takes that decision now
    may_issue_code: bool  # approved, account still pending, principal administers
    requested_groups: list[Group]
    follow_ups: list[AccessRequest]  # the requests for those groups, once the account exists


def registration_detail(principal: Principal, registration_id: int) -> RegistrationDetail:
    """One registration with its decisions; looks missing to those who may not read it."""
    registration = visible_registrations(principal).filter(pk=registration_id).first()
    if registration is None:
        if Registration.objects.filter(pk=registration_id).exists():
            _refuse_unseen(principal, f"registration {registration_id}")
        raise NotFound()
    step = (
        _registration_step(registration)
        if registration.status
        in (Registration.Status.AWAITING_CONFIRMATION, Registration.Status.AWAITING_APPROVAL)
        else None
    )
    account = registration.account
    return RegistrationDetail(
        registration=registration,
        decisions=list(registration.decisions.select_related("decided_by")),
        step=step,
        may_decide=step is not None
        and _maydecide_step(principal, registration_request(registration, step)),
        may_issue_code=account is not None
        and account.pending
        and decide(principal, Action.ADMINISTER, Facility.CONSORTIUM).allowed,
        requested_groups=requested_groups(registration),
        follow_ups=list(registration.requests.select_related("group__site", "group__project")),
    )


def requested_groups(registration: Registration) -> list[Group]:
    """The further groups a registration asked for (it keeps their ids)."""
    return list(
        Group.objects.select_related("site", "project").filter(pk__in=registration.requested_groups)
    )


def group_choices() -> list[tuple[GroupRef, str]]:
    """Every group a request may name, with a label: each consortium-wide role, each site's
    members, each active project's members."""
    choices = [
        (GroupRef(role), _role_label(role))
        for role in sorted(GLOBAL_ROLES, key=lambda role: role.value)
    ]
    for site in Site.objects.order_by("code"):
        choices.append(
            (
                GroupRef(Role.SITE_MEMBER, site=site.code),
                f"{_role_label(Role.SITE_MEMBER)}: {site.name} ({site.code})",
            )
        )
    for project in Project.objects.filter(status=Project.Status.ACTIVE).order_by("code"):
        choices.append(
            (
                GroupRef(Role.PROJECT_MEMBER, project=project.code),
                f"{_role_label(Role.PROJECT_MEMBER)}: {project.title} ({project.code})",
            )
        )
    return choices


def _role_label(role: Role) -> str:
    return role.value.replace("_", " ").capitalize()


@dataclass(frozen=True)
class AccessRequestDetail:
    access_request: AccessRequest
    decisions: list[Decision]
    step: Step | None
    may_decide: bool
    may_withdraw: bool


def access_request_detail(principal: Principal, request_id: int) -> AccessRequestDetail:
    """One access request with its decisions; looks missing to those who may not read it."""
    access_request = visible_requests(principal).filter(pk=request_id).first()
    if access_request is None:
        if AccessRequest.objects.filter(pk=request_id).exists():
            _refuse_unseen(principal, f"access request {request_id}")
        raise NotFound()
    step = STEP_OF.get(AccessRequest.Status(access_request.status))
    return AccessRequestDetail(
        access_request=access_request,
        decisions=list(access_request.decisions.select_related("decided_by")),
        step=step,
        may_decide=step is not None and _maydecide_step(principal, policy_request(access_request)),
        may_withdraw=step is not None and access_request.requested_by_id == principal.user_id,
    )


def _refuse_unseen(principal: Principal, target: str) -> None:
    """Audit a look at someone else's request; the caller answers "not found" either way."""
    with transaction.atomic():
        record(
            "access.read",
            actor=principal,
            outcome=Outcome.DENIED,
            target=target,
            reason="neither requester, subject nor decider of the request",
        )


@dataclass(frozen=True)
class MyAccess:
    current: list[Membership]
    past: list[Membership]
    requested: list[AccessRequest]  # requests I filed
    about_me: list[AccessRequest]  # requests others filed about me
    registrations: list[Registration]  # registrations I asked for (contact persons)


def my_access(principal: Principal) -> MyAccess:
    """The principal's own memberships, now and before, and the requests by or about them."""
    me = actor_id(principal)
    now = timezone.now()
    memberships = Membership.objects.filter(user_id=me).select_related(
        "group__site", "group__project", "granted_by"
    )
    requests = AccessRequest.objects.select_related(
        "subject", "requested_by", "group__site", "group__project"
    )
    return MyAccess(
        current=list(memberships.active(now).order_by("group__role", "-valid_from")),
        past=list(memberships.filter(Q(ended_at__lte=now) | Q(valid_until__lte=now))),
        requested=list(requests.filter(requested_by_id=me)),
        about_me=list(requests.filter(subject_id=me).exclude(requested_by_id=me)),
        registrations=list(
            Registration.objects.select_related("site", "account").filter(requested_by_id=me)
        ),
    )


def membership_history(principal: Principal, username: str = "") -> QuerySet[Membership]:
    """Everyone's memberships, current and ended, newest first (administrator and data
    protection officer); optionally one user's. Reading it is recorded in the audit trail."""
    authorize(principal, Action.READ, Facility.ACCESS_OVERVIEW, target="membership history")
    memberships = Membership.objects.select_related(
        "user", "group__site", "group__project", "granted_by"
    ).order_by("-valid_from", "-id")
    if username:
        memberships = memberships.filter(user__username=username)
    with transaction.atomic():
        record(
            "membership.history.read",
            actor=principal,
            target=f"user {username}" if username else "all memberships",
        )
    return memberships


def membership_state(membership: Membership, at: datetime | None = None) -> str:
    """current, ended, lapsed (its end date passed) or upcoming."""
    moment = at or timezone.now()
    if membership.ended_at is not None and membership.ended_at <= moment:
        return "ended"
    if membership.valid_until is not None and membership.valid_until <= moment:
        return "lapsed"
    if membership.valid_from > moment:
        return "upcoming"
    return "current"
