"""What awaits whose decision, and which requests someone may see."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from cohortvault.access.policy import (
    Action,
    Principal,
    Request,
    Role,
    Step,
    decide,
)
from cohortvault.governance.models import (
    AccessRequest,
    Registration,
)
from cohortvault.governance.services.access_changes import STEP_OF, policy_request
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
