"""Registrations: a contact person asks, the data protection officer confirms, the administrator
approves; approval creates a pending account with an enrolment code."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from cohortvault.access.guard import authorize
from cohortvault.access.policy import (
    Action,
    Facility,
    Principal,
    Request,
    RequestKind,
    Role,
    Step,
)
from cohortvault.audit.trail import record
from cohortvault.consortium import services as consortium
from cohortvault.consortium.models import Group, Membership, Site
from cohortvault.errors import Conflict, Invalid, NotFound
from cohortvault.governance.models import (
    AccessRequest,
    Decision,
    EnrolmentCode,
    Registration,
)
from cohortvault.governance.notify import notify, notify_role
from cohortvault.governance.services.access_changes import first_status
from cohortvault.governance.services.common import (
    MAX_NAME,
    MAX_REASON,
    GroupRef,
    actor_id,
    decide_step,
    text_problems,
)
from cohortvault.identity.models import User, digest

# --- registrations --------------------------------------------------------------------------


def registration_request(registration: Registration, step: Step) -> Request:
    return Request(
        RequestKind.REGISTRATION,
        requester=registration.requested_by.get_username(),
        site=registration.site.code,
        step=step,
    )


def request_registration(
    principal: Principal,
    *,
    site: str,
    first_name: str,
    last_name: str,
    email: str,
    reason: str,
    groups: list[GroupRef] | None = None,
) -> Registration:
    """A site's contact person asks for an account for a new researcher of that site."""
    authorize(
        principal,
        Action.WRITE,
        Request(RequestKind.REGISTRATION, requester=principal.username, site=site),
        target=f"registration for site {site}",
    )
    site_row = Site.objects.filter(code=site).first()
    if site_row is None:
        raise NotFound(f"No site {site!r}.")
    problems = []
    if not first_name.strip() or not last_name.strip():
        problems.append("first and last name are required")
    try:
        validate_email(email)
    except ValidationError:
        problems.append(f"{email!r} is not an e-mail address")
    if not reason.strip():
        problems.append("give a reason")
    problems += text_problems("the first name", first_name, limit=MAX_NAME, one_line=True)
    problems += text_problems("the last name", last_name, limit=MAX_NAME, one_line=True)
    problems += text_problems("the reason", reason, limit=MAX_REASON, one_line=False)
    group_ids = [ref.resolve().pk for ref in groups or []]
    if problems:
        raise Invalid("The registration is not complete.", details=problems)
    with transaction.atomic():
        registration = Registration.objects.create(
            site=site_row,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            email=email.strip(),
            reason=reason.strip(),
            requested_groups=group_ids,
            requested_by_id=actor_id(principal),
        )
        record(
            "registration.request",
            actor=principal,
            target=str(registration),
            details={"registration": registration.pk, "groups": group_ids},
        )
        notify_role(
            Role.DATA_PROTECTION_OFFICER,
            f"A registration for {registration.first_name} {registration.last_name} "
            f"({site}) awaits your confirmation.",
            link=f"/governance/registrations/{registration.pk}/",
            exclude=principal.username,
        )
    return registration


@dataclass(frozen=True)
class RegistrationOutcome:
    registration: Registration
    enrolment_code: str | None = None  # shown once, for the enrolment letter


def decide_registration(
    principal: Principal,
    registration_id: int,
    *,
    approve: bool,
    reason: str = "",
    fresh: bool,
) -> RegistrationOutcome:
    """Confirm (data protection officer) or approve (administrator) a registration, or refuse it."""
    with transaction.atomic():
        registration = (
            Registration.objects.select_for_update()
            .select_related("site", "requested_by")
            .filter(pk=registration_id)
            .first()
        )
        if registration is None:
            raise NotFound()
        steps = {
            Registration.Status.AWAITING_CONFIRMATION: Step.CONFIRM,
            Registration.Status.AWAITING_APPROVAL: Step.ADMINISTRATOR,
        }
        step = steps.get(Registration.Status(registration.status))
        if step is None:
            raise Conflict(f"This registration was already {registration.status}.")
    decide_step(
        principal,
        request=registration_request(registration, step),
        target=str(registration),
        fresh=fresh,
    )
    if not approve and not reason.strip():
        raise Invalid("Say why the registration is refused.")
    problems = text_problems("the reason", reason, limit=MAX_REASON, one_line=False)
    if problems:
        raise Invalid("The decision is not valid.", details=problems)
    code = None
    with transaction.atomic():
        registration = Registration.objects.select_for_update().get(pk=registration.pk)
        if steps.get(Registration.Status(registration.status)) is not step:
            raise Conflict("Someone else decided this registration meanwhile.")
        Decision.objects.create(
            registration=registration,
            step=step.value,
            outcome=Decision.Outcome.APPROVED if approve else Decision.Outcome.REFUSED,
            reason=reason.strip(),
            decided_by_id=actor_id(principal),
        )
        if not approve:
            registration.status = Registration.Status.REFUSED
        elif step is Step.CONFIRM:
            registration.status = Registration.Status.AWAITING_APPROVAL
        else:
            registration.status = Registration.Status.APPROVED
            code = _create_account(principal, registration)
        registration.save()
        record(
            f"registration.{'refuse' if not approve else step.value}",
            actor=principal,
            target=str(registration),
            reason=reason,
            details={"registration": registration.pk, "status": registration.status},
        )
        _tell_about_registration(principal, registration, step, approve)
    return RegistrationOutcome(registration=registration, enrolment_code=code)


def _tell_about_registration(
    principal: Principal, registration: Registration, step: Step, approve: bool
) -> None:
    name = f"{registration.first_name} {registration.last_name}"
    link = f"/governance/registrations/{registration.pk}/"
    requester = registration.requested_by
    if not approve:
        notify(requester, f"The registration of {name} was refused.", link=link)
    elif step is Step.CONFIRM:
        notify_role(
            Role.ADMINISTRATOR,
            f"The registration of {name} awaits your approval.",
            link=link,
            exclude=requester.get_username(),
        )
    else:
        notify(requester, f"The registration of {name} was approved.", link=link)


def _next_username() -> str:
    prefix = settings.COHORTVAULT_USERNAME_PREFIX
    taken = (
        get_user_model()
        .objects.filter(username__startswith=prefix)
        .values_list("username", flat=True)
    )
    serials = [int(name[len(prefix) :]) for name in taken if name[len(prefix) :].isdigit()]
    return f"{prefix}{max(serials, default=0) + 1:03d}"


def _create_account(principal: Principal, registration: Registration) -> str:
    """The pending account of an approved registration, its site membership, access
    requests for the further groups asked for, and its enrolment code (returned once)."""
    user = User(
        username=_next_username(),
        email=registration.email,
        first_name=registration.first_name,
        last_name=registration.last_name,
        is_active=False,
        pending=True,
    )
    user.set_unusable_password()
    user.save()
    registration.account = user
    site_group = consortium.group_for(Role.SITE_MEMBER, site=registration.site)
    Membership.objects.create(
        user=user,
        group=site_group,
        granted_by_id=principal.user_id,
        reason=f"registration {registration.pk}",
    )
    record(
        "membership.grant",
        actor=principal,
        target=f"user {user.username}",
        reason=f"registration {registration.pk}",
        details={"group": str(site_group)},
    )
    for group in Group.objects.filter(pk__in=registration.requested_groups).exclude(
        pk=site_group.pk
    ):
        AccessRequest.objects.create(
            subject=user,
            group=group,
            operation=AccessRequest.Operation.ADD,
            reason=f"asked for in registration {registration.pk}: {registration.reason}",
            requested_by=registration.requested_by,
            registration=registration,
            status=first_status(group, AccessRequest.Operation.ADD),
        )
    return _new_enrolment_code(principal, user)


def _new_enrolment_code(principal: Principal, user: Any) -> str:
    EnrolmentCode.objects.filter(user=user, used_at__isnull=True).update(used_at=timezone.now())
    raw = secrets.token_hex(10).upper()  # 80 random bits, typed in by hand if need be
    EnrolmentCode.objects.create(
        user=user,
        code_hash=digest(raw),
        expires_at=timezone.now() + timedelta(hours=settings.COHORTVAULT_ENROLMENT_CODE_HOURS),
    )
    record("enrolment.code", actor=principal, target=f"user {user.get_username()}")
    return "-".join(raw[i : i + 5] for i in range(0, 20, 5))


def issue_enrolment_code(principal: Principal, username: str) -> str:
    """A new code (and letter) for a pending account; earlier codes stop working."""
    authorize(principal, Action.ADMINISTER, Facility.CONSORTIUM, target=f"user {username}")
    user = User.objects.filter(username=username, pending=True).first()
    if user is None:
        raise NotFound(f"No pending account {username!r}.")
    with transaction.atomic():
        return _new_enrolment_code(principal, user)
