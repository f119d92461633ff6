"""Registrations and access changes: the chain of decisions, four eyes, and their effects."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from cohortvault.access.policy import Principal, Role
from cohortvault.audit.models import AuditEntry
from cohortvault.consortium.models import Membership, Project, Site
from cohortvault.consortium.services import principal_for_user
from cohortvault.errors import Conflict, Invalid, NotAuthenticated, NotFound, PermissionDenied
from cohortvault.governance import enrolment, services
from cohortvault.governance.models import AccessRequest, Notification, Registration
from cohortvault.governance.services import GroupRef
from cohortvault.identity.models import User
from tests import factories

pytestmark = pytest.mark.django_db


def person(
    username: str, *roles: Role, site: Site | None = None, contact: bool = False
) -> Principal:
    user = factories.make_user(username)
    for role in roles:
        factories.grant(user, role)
    if site is not None:
        membership = factories.grant(user, Role.SITE_MEMBER, site=site)
        membership.is_contact = contact
        membership.save()
    return principal_for_user(user)


@pytest.fixture
def cast(site: Site) -> dict[str, Principal]:
    return {
        "contact": person("contact", site=site, contact=True),
        "member": person("member", site=site),
        "dpo": person("dpo", Role.DATA_PROTECTION_OFFICER),
        "admin": person("admin", Role.ADMINISTRATOR),
        "admin2": person("admin2", Role.ADMINISTRATOR),
        "approver": person("approver", Role.APPROVER),
    }


def register(cast: dict[str, Principal], **overrides: object) -> Registration:
    fields: dict[str, object] = {
        "site": "oslo",
        "first_name": "Nina",
        "last_name": "Ny",
        "email": "nina@example.org",
        "reason": "joins the memory study",
    }
    fields.update(overrides)
    return services.request_registration(cast["contact"], **fields)  # type: ignore[arg-type]


def test_registration_chain_creates_a_pending_account(
    cast: dict[str, Principal], project: Project
) -> None:
    registration = register(cast, groups=[GroupRef(Role.PROJECT_MEMBER, project="alpha")])
    assert registration.status == Registration.Status.AWAITING_CONFIRMATION
    assert Notification.objects.filter(user__username="dpo").exists()
    services.decide_registration(cast["dpo"], registration.pk, approve=True, fresh=True)
    outcome = services.decide_registration(cast["admin"], registration.pk, approve=True, fresh=True)
    assert outcome.registration.status == Registration.Status.APPROVED
    account = outcome.registration.account
    assert account is not None and account.username == "p274-001"
    assert account.pending and not account.is_active and not account.has_usable_password()
    assert outcome.enrolment_code and len(outcome.enrolment_code) == 23
    assert Membership.objects.filter(user=account, group__site__code="oslo").exists()
    follow_up = AccessRequest.objects.get(subject=account)
    assert follow_up.group.project == project and follow_up.status == "awaiting_approval"
    steps = [d.step for d in outcome.registration.decisions.all()]
    assert steps == ["confirm", "administrator"]
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "registration.request",
        "registration.confirm",
        "registration.administrator",
        "enrolment.code",
        "membership.grant",
    } <= actions


def test_only_contact_persons_register(cast: dict[str, Principal], other_site: Site) -> None:
    with pytest.raises(PermissionDenied):
        register(cast | {"contact": cast["member"]})
    with pytest.raises(PermissionDenied):
        register(cast, site="berlin")
    assert not Registration.objects.exists()


def test_registration_steps_in_order_and_by_the_right_role(cast: dict[str, Principal]) -> None:
    registration = register(cast)
    with pytest.raises(PermissionDenied):  # the administrator cannot skip the confirmation
        services.decide_registration(cast["admin"], registration.pk, approve=True, fresh=True)
    services.decide_registration(cast["dpo"], registration.pk, approve=True, fresh=True)
    with pytest.raises(PermissionDenied):  # the DPO cannot also approve
        services.decide_registration(cast["dpo"], registration.pk, approve=True, fresh=True)
    with pytest.raises(NotAuthenticated):  # approval needs a fresh second factor
        services.decide_registration(cast["admin"], registration.pk, approve=True, fresh=False)
    services.decide_registration(cast["admin"], registration.pk, approve=True, fresh=True)
    with pytest.raises(Conflict):
        services.decide_registration(cast["admin2"], registration.pk, approve=True, fresh=True)


def test_refusal_needs_a_reason_and_is_final(cast: dict[str, Principal]) -> None:
    registration = register(cast)
    with pytest.raises(Invalid):
        services.decide_registration(cast["dpo"], registration.pk, approve=False, fresh=True)
    services.decide_registration(
        cast["dpo"], registration.pk, approve=False, reason="unknown person", fresh=True
    )
    registration.refresh_from_db()
    assert registration.status == "refused" and registration.account is None
    assert Notification.objects.filter(user__username="contact", text__contains="refused").exists()


def test_contact_person_who_is_dpo_cannot_confirm_own_registration(site: Site) -> None:
    both = person("both", Role.DATA_PROTECTION_OFFICER, site=site, contact=True)
    registration = services.request_registration(
        both, site="oslo", first_name="A", last_name="B", email="a@example.org", reason="r"
    )
    with pytest.raises(PermissionDenied):
        services.decide_registration(both, registration.pk, approve=True, fresh=True)
    assert AuditEntry.objects.filter(actor="both", outcome="denied").exists()


def test_enrolment_activates_the_account(cast: dict[str, Principal]) -> None:
    registration = register(cast)
    services.decide_registration(cast["dpo"], registration.pk, approve=True, fresh=True)
    code = services.decide_registration(
        cast["admin"], registration.pk, approve=True, fresh=True
    ).enrolment_code
    assert code
    with pytest.raises(Invalid):
        enrolment.set_enrolment_password(code, "short")
    enrolment.set_enrolment_password(code.lower(), factories.PASSWORD)
    device = enrolment.authenticator_for(code)
    user, _, recovery = enrolment.complete_enrolment(code, device.pk, factories.code_for(device))
    assert user.is_active and not user.pending and len(recovery) == 10
    with pytest.raises(NotFound):  # used up
        enrolment.enrolment_for(code)


def test_expired_enrolment_code_is_refused(cast: dict[str, Principal]) -> None:
    registration = register(cast)
    services.decide_registration(cast["dpo"], registration.pk, approve=True, fresh=True)
    code = services.decide_registration(
        cast["admin"], registration.pk, approve=True, fresh=True
    ).enrolment_code
    from cohortvault.governance.models import EnrolmentCode

    EnrolmentCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(NotFound):
        enrolment.set_enrolment_password(code or "", factories.PASSWORD)
    new_code = services.issue_enrolment_code(cast["admin"], "p274-001")
    assert enrolment.enrolment_for(new_code).user.username == "p274-001"


def test_access_change_needs_the_administrator(
    cast: dict[str, Principal], project: Project
) -> None:
    request = services.request_access_change(
        cast["member"],
        username="member",
        group=GroupRef(Role.PROJECT_MEMBER, project="alpha"),
        operation="add",
        reason="works on alpha",
    )
    assert request.status == "awaiting_approval"
    assert principal_for_user(User.objects.get(username="member")).projects == frozenset()
    with pytest.raises(PermissionDenied):  # nobody grants themselves anything
        services.decide_access_request(cast["member"], request.pk, approve=True, fresh=True)
    services.decide_access_request(cast["admin"], request.pk, approve=True, fresh=True)
    assert principal_for_user(User.objects.get(username="member")).projects == {"alpha"}
    assert Notification.objects.filter(user__username="member", text__contains="approved").exists()
    assert mail.outbox == [] or any("approved" in m.subject for m in mail.outbox)


def test_administrator_cannot_approve_own_request_nor_one_for_themselves(
    cast: dict[str, Principal],
) -> None:
    own = services.request_access_change(
        cast["admin"],
        username="member",
        group=GroupRef(Role.APPROVER),
        operation="add",
        reason="helps",
    )
    with pytest.raises(PermissionDenied):
        services.decide_access_request(cast["admin"], own.pk, approve=True, fresh=True)
    for_self = services.request_access_change(
        cast["member"],
        username="admin",
        group=GroupRef(Role.DATA_PROTECTION_OFFICER),
        operation="add",
        reason="stand-in",
    )
    with pytest.raises(PermissionDenied):
        services.decide_access_request(cast["admin"], for_self.pk, approve=True, fresh=True)
    services.decide_access_request(cast["admin2"], own.pk, approve=True, fresh=True)
    assert principal_for_user(User.objects.get(username="member")).has(Role.APPROVER)


def test_exporter_and_data_manager_need_the_assembly_first(cast: dict[str, Principal]) -> None:
    request = services.request_access_change(
        cast["member"],
        username="member",
        group=GroupRef(Role.EXPORTER),
        operation="add",
        reason="exports for alpha",
    )
    assert request.status == "awaiting_assembly"
    with pytest.raises(PermissionDenied):  # the administrator cannot go first
        services.decide_access_request(cast["admin"], request.pk, approve=True, fresh=True)
    services.decide_access_request(
        cast["approver"], request.pk, approve=True, reference="GA 2026-11", fresh=True
    )
    assert not principal_for_user(User.objects.get(username="member")).has(Role.EXPORTER)
    services.decide_access_request(cast["admin"], request.pk, approve=True, fresh=True)
    assert principal_for_user(User.objects.get(username="member")).has(Role.EXPORTER)
    request.refresh_from_db()
    assert [d.step for d in request.decisions.all()] == ["assembly", "administrator"]
    assert request.decisions.first().reference == "GA 2026-11"  # type: ignore[union-attr]


def test_removal_takes_effect_at_once_and_history_stays(
    cast: dict[str, Principal], site: Site
) -> None:
    request = services.request_access_change(
        cast["contact"],
        username="member",
        group=GroupRef(Role.SITE_MEMBER, site="oslo"),
        operation="remove",
        reason="left the institute",
    )
    services.decide_access_request(cast["admin"], request.pk, approve=True, fresh=True)
    member = User.objects.get(username="member")
    assert principal_for_user(member).sites == frozenset()
    assert Membership.objects.filter(user=member, ended_at__isnull=False).count() == 1


def test_time_limited_membership_lapses(cast: dict[str, Principal], project: Project) -> None:
    request = services.request_access_change(
        cast["member"],
        username="member",
        group=GroupRef(Role.PROJECT_MEMBER, project="alpha"),
        operation="add",
        reason="a month",
        valid_until=timezone.now() + timedelta(days=30),
    )
    services.decide_access_request(cast["admin"], request.pk, approve=True, fresh=True)
    member = User.objects.get(username="member")
    assert principal_for_user(member).projects == {"alpha"}
    Membership.objects.filter(user=member, group__project=project).update(
        valid_until=timezone.now() - timedelta(seconds=1)
    )
    assert principal_for_user(member).projects == frozenset()


def test_bad_requests_are_refused(cast: dict[str, Principal], project: Project) -> None:
    with pytest.raises(Conflict):
        services.request_access_change(
            cast["member"],
            username="member",
            operation="add",
            group=GroupRef(Role.SITE_MEMBER, site="oslo"),
            reason="r",
        )
    with pytest.raises(Conflict):
        services.request_access_change(
            cast["member"],
            username="member",
            operation="remove",
            group=GroupRef(Role.EXPORTER),
            reason="r",
        )
    with pytest.raises(NotFound):
        services.request_access_change(
            cast["member"],
            username="ghost",
            operation="add",
            group=GroupRef(Role.EXPORTER),
            reason="r",
        )
    with pytest.raises(Invalid):
        services.request_access_change(
            cast["member"],
            username="member",
            operation="add",
            group=GroupRef(Role.EXPORTER, site="oslo"),
            reason="r",
        )
    services.request_access_change(
        cast["member"],
        username="member",
        operation="add",
        group=GroupRef(Role.PROJECT_MEMBER, project="alpha"),
        reason="r",
    )
    with pytest.raises(Conflict):  # one open request per change
        services.request_access_change(
            cast["contact"],
            username="member",
            operation="add",
            group=GroupRef(Role.PROJECT_MEMBER, project="alpha"),
            reason="r",
        )


def test_queue_shows_what_awaits_each_decider(cast: dict[str, Principal], project: Project) -> None:
    registration = register(cast)
    request = services.request_access_change(
        cast["member"],
        username="member",
        group=GroupRef(Role.DATA_MANAGER),
        operation="add",
        reason="backup curator",
    )
    assert services.queue(cast["dpo"]).registrations == [registration]
    assert services.queue(cast["approver"]).access_requests == [request]
    assert services.queue(cast["admin"]).access_requests == []
    assert services.queue(cast["member"]).access_requests == []


def test_withdrawal_by_the_requester_only(cast: dict[str, Principal]) -> None:
    request = services.request_access_change(
        cast["member"],
        username="member",
        group=GroupRef(Role.APPROVER),
        operation="add",
        reason="r",
    )
    with pytest.raises(NotFound):
        services.withdraw_access_request(cast["admin"], request.pk)
    services.withdraw_access_request(cast["member"], request.pk)
    with pytest.raises(Conflict):
        services.decide_access_request(cast["admin"], request.pk, approve=True, fresh=True)


@pytest.mark.parametrize(
    "fields",
    [
        {"first_name": "Nina\nEvil: header"},
        {"last_name": "x" * 151},
        {"reason": "r\x00"},
        {"reason": "r" * 2001},
        {"email": "not-an-address"},
    ],
)
def test_hostile_registration_text_is_refused_by_the_service(
    cast: dict[str, Principal], fields: dict[str, str]
) -> None:
    with pytest.raises(Invalid):
        register(cast, **fields)
    assert not Registration.objects.exists()


def test_hostile_decision_text_is_refused(cast: dict[str, Principal]) -> None:
    request = services.request_access_change(
        cast["member"],
        username="member",
        group=GroupRef(Role.APPROVER),
        operation="add",
        reason="r",
    )
    with pytest.raises(Invalid):
        services.decide_access_request(
            cast["admin"], request.pk, approve=True, reference="a\nb", fresh=True
        )
    with pytest.raises(Invalid):
        services.request_access_change(
            cast["member"],
            username="member",
            group=GroupRef(Role.EXPORTER),
            operation="add",
            reason="x" * 2001,
        )
