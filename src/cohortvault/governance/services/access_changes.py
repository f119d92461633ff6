"""Access changes: every group membership added or removed, by request, with four eyes and,
for exporters and data managers, the general assembly's decision."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from cohortvault.access.guard import authorize
from cohortvault.access.policy import (
    Action,
    Principal,
    Request,
    RequestKind,
    Role,
    Step,
)
from cohortvault.audit.trail import record
from cohortvault.consortium import services as consortium
from cohortvault.consortium.models import Group, Membership
from cohortvault.errors import Conflict, Invalid, NotFound
from cohortvault.governance.models import (
    AccessRequest,
    Decision,
)
from cohortvault.governance.notify import notify, notify_role
from cohortvault.governance.services.common import (
    ASSEMBLY_ROLES,
    MAX_REASON,
    GroupRef,
    actor_id,
    decide_step,
    text_problems,
)
from cohortvault.identity.models import User

# --- access changes -------------------------------------------------------------------------


def first_status(group: Group, operation: str) -> str:
    if operation == AccessRequest.Operation.ADD and Role(group.role) in ASSEMBLY_ROLES:
        return AccessRequest.Status.AWAITING_ASSEMBLY
    return AccessRequest.Status.AWAITING_APPROVAL


STEP_OF = {
    AccessRequest.Status.AWAITING_ASSEMBLY: Step.ASSEMBLY,
    AccessRequest.Status.AWAITING_APPROVAL: Step.ADMINISTRATOR,
}


def policy_request(access_request: AccessRequest) -> Request:
    return Request(
        RequestKind.ACCESS_CHANGE,
        requester=access_request.requested_by.get_username(),
        subject=access_request.subject.get_username(),
        step=STEP_OF.get(AccessRequest.Status(access_request.status), Step.ADMINISTRATOR),
    )


def request_access_change(
    principal: Principal,
    *,
    username: str,
    group: GroupRef,
    operation: str,
    reason: str,
    valid_until: datetime | None = None,
) -> AccessRequest:
    """Ask for someone (possibly oneself) to be added to or removed from a group."""
    authorize(
        principal,
        Action.WRITE,
        Request(RequestKind.ACCESS_CHANGE, requester=principal.username, subject=username),
        target=f"user {username}",
    )
    if operation not in AccessRequest.Operation.values:
        raise Invalid("The operation is add or remove.")
    subject = User.objects.filter(username=username).first()
    if subject is None:
        raise NotFound(f"No user {username!r}.")
    if not reason.strip():
        raise Invalid("Give a reason.")
    problems = text_problems("the reason", reason, limit=MAX_REASON, one_line=False)
    if problems:
        raise Invalid("The request is not valid.", details=problems)
    if valid_until is not None and (operation != "add" or valid_until <= timezone.now()):
        raise Invalid("An end date belongs to an addition and lies in the future.")
    target_group = group.resolve()
    member = Membership.objects.active().filter(user=subject, group=target_group).exists()
    if operation == "add" and member:
        raise Conflict(f"{username} is already in {target_group}.")
    if operation == "remove" and not member:
        raise Conflict(f"{username} is not in {target_group}.")
    open_statuses = list(STEP_OF)
    if AccessRequest.objects.filter(
        subject=subject, group=target_group, status__in=open_statuses
    ).exists():
        raise Conflict("An open request for this change exists already.")
    with transaction.atomic():
        access_request = AccessRequest.objects.create(
            subject=subject,
            group=target_group,
            operation=operation,
            reason=reason.strip(),
            valid_until=valid_until,
            requested_by_id=actor_id(principal),
            status=first_status(target_group, operation),
        )
        record(
            "access_request.create",
            actor=principal,
            target=f"user {username}",
            reason=reason,
            details={
                "request": access_request.pk,
                "group": str(target_group),
                "operation": operation,
            },
        )
        _announce(access_request, exclude=principal.username)
    return access_request


def _announce(access_request: AccessRequest, *, exclude: str) -> None:
    """Tell whoever must decide next."""
    link = f"/governance/access/{access_request.pk}/"
    text = f"Access request: {access_request} awaits your decision."
    role = (
        Role.APPROVER
        if access_request.status == AccessRequest.Status.AWAITING_ASSEMBLY
        else Role.ADMINISTRATOR
    )
    notify_role(
        role, text, link=link, exclude=exclude, also_exclude=access_request.subject.get_username()
    )


def decide_access_request(
    principal: Principal,
    request_id: int,
    *,
    approve: bool,
    reason: str = "",
    reference: str = "",
    fresh: bool,
) -> AccessRequest:
    """Take the decision the request awaits; the administrator's approval applies it."""
    access_request = (
        AccessRequest.objects.select_related(
            "subject", "requested_by", "group__site", "group__project"
        )
        .filter(pk=request_id)
        .first()
    )
    if access_request is None:
        raise NotFound()
    step = STEP_OF.get(AccessRequest.Status(access_request.status))
    if step is None:
        raise Conflict(f"This request was already {access_request.status}.")
    decide_step(
        principal, request=policy_request(access_request), target=str(access_request), fresh=fresh
    )
    if not approve and not reason.strip():
        raise Invalid("Say why the request is refused.")
    problems = text_problems("the reason", reason, limit=MAX_REASON, one_line=False)
    problems += text_problems("the reference", reference, limit=200, one_line=True)
    if problems:
        raise Invalid("The decision is not valid.", details=problems)
    with transaction.atomic():
        locked = AccessRequest.objects.select_for_update().get(pk=access_request.pk)
        if STEP_OF.get(AccessRequest.Status(locked.status)) is not step:
            raise Conflict("Someone else decided this request meanwhile.")
        Decision.objects.create(
            access_request=locked,
            step=step.value,
            outcome=Decision.Outcome.APPROVED if approve else Decision.Outcome.REFUSED,
            reason=reason.strip(),
            reference=reference.strip(),
            decided_by_id=actor_id(principal),
        )
        if not approve:
            locked.status = AccessRequest.Status.REFUSED
        elif step is Step.ASSEMBLY:
            locked.status = AccessRequest.Status.AWAITING_APPROVAL
        else:
            locked.status = AccessRequest.Status.APPROVED
            locked.membership = _apply(principal, access_request)
        locked.save()
        record(
            f"access_request.{'refuse' if not approve else step.value}",
            actor=principal,
            target=str(access_request),
            reason=reason,
            details={"request": locked.pk, "status": locked.status, "reference": reference},
        )
        link = f"/governance/access/{locked.pk}/"
        outcome = (
            "refused"
            if not approve
            else ("approved" if locked.status == "approved" else "agreed by the assembly")
        )
        for person in {access_request.requested_by, access_request.subject}:
            notify(person, f"Access request {access_request}: {outcome}.", link=link)
        if locked.status == AccessRequest.Status.AWAITING_APPROVAL:
            _announce(locked, exclude=access_request.requested_by.get_username())
    return locked


def _apply(principal: Principal, access_request: AccessRequest) -> Membership:
    group = access_request.group
    username = access_request.subject.get_username()
    if access_request.operation == AccessRequest.Operation.ADD:
        return consortium.grant_membership(
            principal,
            username=username,
            role=Role(group.role),
            site=group.site,
            project=group.project,
            valid_until=access_request.valid_until,
            reason=f"access request {access_request.pk}: {access_request.reason}",
        )
    membership = (
        Membership.objects.active().filter(user=access_request.subject, group=group).first()
    )
    if membership is None:
        raise Conflict(f"{username} is no longer in {group}.")
    consortium.end_membership(principal, membership, reason=f"access request {access_request.pk}")
    return membership


def withdraw_access_request(principal: Principal, request_id: int) -> AccessRequest:
    with transaction.atomic():
        access_request = (
            AccessRequest.objects.select_for_update()
            .filter(pk=request_id, requested_by_id=principal.user_id or -1)
            .first()
        )
        if access_request is None:
            raise NotFound()
        if access_request.status not in STEP_OF:
            raise Conflict(f"This request was already {access_request.status}.")
        access_request.status = AccessRequest.Status.WITHDRAWN
        access_request.save(update_fields=["status"])
        record("access_request.withdraw", actor=principal, target=str(access_request))
    return access_request
