"""Governance routes: registrations, access requests, their decisions, the decision queue and
notifications. Every route calls one service function.

A decision needs a fresh second factor: the body carries ``otp``, a current one-time code of
the caller, checked before the service is asked (a wrong one answers 401).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import AfterValidator, Field

from cohortvault.access.policy import Action, Principal, Role
from cohortvault.access.requirements import requires
from cohortvault.governance import services
from cohortvault.governance.models import AccessRequest, Decision, Notification, Registration
from cohortvault.identity.services import verify_second_factor

router = Router(tags=["governance"])

REASON_LIMIT = 2000


def _no_control_characters(value: str) -> str:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("write it on one line, without control characters")
    return value


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Name = Annotated[str, Field(min_length=1, max_length=150), AfterValidator(_no_control_characters)]
Reason = Annotated[str, Field(max_length=REASON_LIMIT), AfterValidator(_no_nul)]
Code = Annotated[str, Field(max_length=40), AfterValidator(_no_control_characters)]


class GroupIn(Schema):
    role: Role
    site: Code = ""
    project: Code = ""

    def ref(self) -> services.GroupRef:
        return services.GroupRef(self.role, site=self.site, project=self.project)


class DecisionOut(Schema):
    step: str
    outcome: str
    reason: str
    reference: str
    decided_by: str
    decided_at: datetime


def _decisions(decisions: Any) -> list[DecisionOut]:
    rows: list[Decision] = list(decisions)
    return [
        DecisionOut(
            step=d.step,
            outcome=d.outcome,
            reason=d.reason,
            reference=d.reference,
            decided_by=d.decided_by.get_username(),
            decided_at=d.decided_at,
        )
        for d in rows
    ]


# --- registrations --------------------------------------------------------------------------


class RegistrationIn(Schema):
    site: Code
    first_name: Name
    last_name: Name
    email: Annotated[str, Field(max_length=254)]
    reason: Reason
    groups: list[GroupIn] = Field(default_factory=list, max_length=50)


class RegistrationOut(Schema):
    id: int
    site: str
    first_name: str
    last_name: str
    email: str
    requested_groups: list[str]
    reason: str
    requested_by: str
    created_at: datetime
    status: str
    account: str | None
    decisions: list[DecisionOut]


class RegistrationDecisionIn(Schema):
    approve: bool
    reason: Reason = ""
    otp: Code


class RegistrationDecisionOut(RegistrationOut):
    enrolment_code: str | None = Field(
        None, description="Only in the administrator's approval, and only in this response."
    )
    enrolment_url: str | None = None


def registration_out(registration: Registration) -> dict[str, Any]:
    return {
        "id": registration.pk,
        "site": registration.site.code,
        "first_name": registration.first_name,
        "last_name": registration.last_name,
        "email": registration.email,
        "requested_groups": [str(g) for g in services.requested_groups(registration)],
        "reason": registration.reason,
        "requested_by": registration.requested_by.get_username(),
        "created_at": registration.created_at,
        "status": registration.status,
        "account": registration.account.get_username() if registration.account else None,
        "decisions": _decisions(registration.decisions.select_related("decided_by")),
    }


def principal(request: HttpRequest) -> Principal:
    return request.principal  # type: ignore[attr-defined,no-any-return]


def fresh_second_factor(request: HttpRequest, otp: str) -> bool:
    """A correct one-time code of the caller, given with the decision, makes it fresh."""
    verify_second_factor(request.user, otp)
    return True


class Page(Schema):
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0)


@router.get("/registrations", response=list[RegistrationOut])
@requires(action=Action.LIST, resource="registrations")
def list_registrations(request: HttpRequest, page: Query[Page]) -> list[dict[str, Any]]:
    """Registrations I asked for; all of them for the administrator and the DPO. Newest first."""
    found = services.visible_registrations(principal(request))
    return [registration_out(r) for r in found[page.offset : page.offset + page.limit]]


@router.post("/registrations", response={201: RegistrationOut})
@requires(action=Action.WRITE, resource="registration request")
def create_registration(request: HttpRequest, payload: RegistrationIn) -> Status[dict[str, Any]]:
    """A site's contact person asks for an account for a new researcher of that site."""
    registration = services.request_registration(
        principal(request),
        site=payload.site,
        first_name=payload.first_name,
        last_name=payload.last_name,
        email=payload.email,
        reason=payload.reason,
        groups=[group.ref() for group in payload.groups],
    )
    return Status(201, registration_out(registration))


@router.get("/registrations/{registration_id}", response=RegistrationOut)
@requires(action=Action.READ, resource="registration")
def get_registration(request: HttpRequest, registration_id: int) -> dict[str, Any]:
    detail = services.registration_detail(principal(request), registration_id)
    return registration_out(detail.registration)


@router.post("/registrations/{registration_id}/decision", response=RegistrationDecisionOut)
@requires(action=Action.APPROVE, resource="registration")
def decide_registration(
    request: HttpRequest, registration_id: int, payload: RegistrationDecisionIn
) -> dict[str, Any]:
    """Confirm (DPO), approve (administrator) or refuse. The approval creates the pending
    account and answers its enrolment code, once."""
    outcome = services.decide_registration(
        principal(request),
        registration_id,
        approve=payload.approve,
        reason=payload.reason,
        fresh=fresh_second_factor(request, payload.otp),
    )
    body = registration_out(outcome.registration)
    if outcome.enrolment_code:
        body["enrolment_code"] = outcome.enrolment_code
        body["enrolment_url"] = settings.COHORTVAULT_SITE_URL + reverse(
            "enrolment:enrol", args=[outcome.enrolment_code]
        )
    return body


# --- access requests ------------------------------------------------------------------------


class AccessRequestIn(Schema):
    username: Annotated[str, Field(min_length=1, max_length=150)]
    group: GroupIn
    operation: Literal["add", "remove"]
    reason: Reason
    valid_until: datetime | None = None


class AccessRequestOut(Schema):
    id: int
    subject: str
    group: str
    operation: str
    reason: str
    valid_until: datetime | None
    requested_by: str
    created_at: datetime
    status: str
    registration: int | None
    decisions: list[DecisionOut]


class AccessDecisionIn(Schema):
    approve: bool
    reason: Reason = ""
    reference: Annotated[str, Field(max_length=200), AfterValidator(_no_nul)] = ""
    otp: Code


def access_request_out(access_request: AccessRequest) -> dict[str, Any]:
    return {
        "id": access_request.pk,
        "subject": access_request.subject.get_username(),
        "group": str(access_request.group),
        "operation": access_request.operation,
        "reason": access_request.reason,
        "valid_until": access_request.valid_until,
        "requested_by": access_request.requested_by.get_username(),
        "created_at": access_request.created_at,
        "status": access_request.status,
        "registration": access_request.registration_id,
        "decisions": _decisions(access_request.decisions.select_related("decided_by")),
    }


@router.get("/access-requests", response=list[AccessRequestOut])
@requires(action=Action.LIST, resource="access requests")
def list_access_requests(request: HttpRequest, page: Query[Page]) -> list[dict[str, Any]]:
    """Requests I filed or that concern me; all for the administrator. Newest first."""
    found = services.visible_requests(principal(request))
    return [access_request_out(r) for r in found[page.offset : page.offset + page.limit]]


@router.post("/access-requests", response={201: AccessRequestOut})
@requires(action=Action.WRITE, resource="access request")
def create_access_request(request: HttpRequest, payload: AccessRequestIn) -> Status[dict[str, Any]]:
    """Ask for someone (possibly oneself) to be added to or removed from a group."""
    access_request = services.request_access_change(
        principal(request),
        username=payload.username,
        group=payload.group.ref(),
        operation=payload.operation,
        reason=payload.reason,
        valid_until=payload.valid_until,
    )
    return Status(201, access_request_out(access_request))


@router.get("/access-requests/{request_id}", response=AccessRequestOut)
@requires(action=Action.READ, resource="access request")
def get_access_request(request: HttpRequest, request_id: int) -> dict[str, Any]:
    detail = services.access_request_detail(principal(request), request_id)
    return access_request_out(detail.access_request)


@router.post("/access-requests/{request_id}/decision", response=AccessRequestOut)
@requires(action=Action.APPROVE, resource="access request")
def decide_access_request(
    request: HttpRequest, request_id: int, payload: AccessDecisionIn
) -> dict[str, Any]:
    """Record the assembly's decision (approver) or approve (administrator), or refuse."""
    decided = services.decide_access_request(
        principal(request),
        request_id,
        approve=payload.approve,
        reason=payload.reason,
        reference=payload.reference,
        fresh=fresh_second_factor(request, payload.otp),
    )
    return access_request_out(decided)


@router.post("/access-requests/{request_id}/withdraw", response=AccessRequestOut)
@requires(action=Action.WRITE, resource="own access request")
def withdraw_access_request(request: HttpRequest, request_id: int) -> dict[str, Any]:
    return access_request_out(services.withdraw_access_request(principal(request), request_id))


# --- queue and notifications ----------------------------------------------------------------


class QueueOut(Schema):
    registrations: list[RegistrationOut]
    access_requests: list[AccessRequestOut]


@router.get("/queue", response=QueueOut)
@requires(action=Action.LIST, resource="requests awaiting my decision")
def get_queue(request: HttpRequest) -> dict[str, Any]:
    """Everything awaiting the caller's decision (never their own requests, nor ones about them)."""
    waiting = services.queue(principal(request))
    return {
        "registrations": [registration_out(r) for r in waiting.registrations],
        "access_requests": [access_request_out(r) for r in waiting.access_requests],
    }


class NotificationOut(Schema):
    id: int
    text: str
    link: str
    created_at: datetime
    read_at: datetime | None


class NotificationQuery(Page):
    unread: bool = False


@router.get("/notifications", response=list[NotificationOut])
@requires(action=Action.READ, resource="own notifications")
def list_notifications(request: HttpRequest, query: Query[NotificationQuery]) -> list[Notification]:
    """My notifications, newest first (``unread=true`` for the unread ones only)."""
    found = services.notifications(principal(request), unread_only=query.unread)
    return list(found[query.offset : query.offset + query.limit])
