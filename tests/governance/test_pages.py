"""The governance pages: registration to enrolment, access changes to their effect at the next
request, four eyes on every path, fresh second factors, notifications and hostile input."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django_otp.plugins.otp_totp.models import TOTPDevice

from cohortvault.access.policy import Role
from cohortvault.audit.models import AuditEntry
from cohortvault.consortium.models import Membership, Project, Site
from cohortvault.demo import current_code
from cohortvault.governance import services
from cohortvault.governance.enrolment import INVALID_CODE
from cohortvault.governance.models import AccessRequest, EnrolmentCode, Notification, Registration
from cohortvault.governance.services import GroupRef
from cohortvault.identity.models import User
from cohortvault.identity.qr import qr_data_uri
from cohortvault.web.freshness import VERIFIED_AT
from tests import factories

pytestmark = pytest.mark.django_db

Capture = Callable[..., Any]


# --- people and helpers (test_api.py uses them too) -----------------------------------------


@dataclass
class Cast:
    contact: User
    member: User
    dpo: User
    admin: User
    admin2: User
    approver: User

    def __getitem__(self, name: str) -> User:
        user: User = getattr(self, name)
        return user


def person(username: str, *roles: Role, site: Site | None = None, contact: bool = False) -> User:
    user = factories.make_user(username, first_name=username.title(), last_name="Tester")
    factories.enrol_totp(user)
    for role in roles:
        factories.grant(user, role)
    if site is not None:
        membership = factories.grant(user, Role.SITE_MEMBER, site=site)
        membership.is_contact = contact
        membership.save()
    return user


def make_cast(site: Site) -> Cast:
    return Cast(
        contact=person("contact", site=site, contact=True),
        member=person("member", site=site),
        dpo=person("dpo", Role.DATA_PROTECTION_OFFICER),
        admin=person("admin", Role.ADMINISTRATOR),
        admin2=person("admin2", Role.ADMINISTRATOR),
        approver=person("approver", Role.APPROVER),
    )


@pytest.fixture
def cast(site: Site) -> Cast:
    return make_cast(site)


def p(user: User) -> Any:
    return factories.principal(user)


def denied(actor: str, action: str = "access.approve") -> bool:
    return AuditEntry.objects.filter(actor=actor, action=action, outcome="denied").exists()


def registration_fields(**overrides: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "site": "oslo",
        "first_name": "Nina",
        "last_name": "Ny",
        "email": "nina@example.org",
        "reason": "joins the memory study",
    }
    fields.update(overrides)
    return fields


def approved_registration(cast: Cast) -> tuple[Registration, str]:
    """A registration decided by DPO and administrator, with its enrolment code."""
    registration = services.request_registration(p(cast.contact), **registration_fields())
    services.decide_registration(p(cast.dpo), registration.pk, approve=True, fresh=True)
    outcome = services.decide_registration(p(cast.admin), registration.pk, approve=True, fresh=True)
    assert outcome.enrolment_code
    return outcome.registration, outcome.enrolment_code


def access_request(cast: Cast, group: GroupRef, *, by: str = "member", whom: str = "member") -> int:
    return services.request_access_change(
        p(cast[by]), username=whom, group=group, operation="add", reason="needed"
    ).pk


def fresh_totp(user: User) -> str:
    """A code the user's authenticator shows now, accepted even if one was used this step."""
    TOTPDevice.objects.filter(user=user).update(
        last_t=-1, throttling_failure_count=0, throttling_failure_timestamp=None
    )
    return factories.code_for(TOTPDevice.objects.get(user=user, confirmed=True))


def text(response: Any) -> str:
    return str(response.content.decode())


# --- registration to enrolment ---------------------------------------------------------------


def test_registration_chain_through_the_pages_ends_with_the_new_user_signed_in(
    cast: Cast,
    project: Project,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    contact = factories.signed_in_client(cast.contact)
    form = contact.get("/governance/registrations/new/")
    assert form.status_code == 200 and 'value="oslo"' in text(form)
    with django_capture_on_commit_callbacks(execute=True):
        response = contact.post(
            "/governance/registrations/new/",
            registration_fields(groups=["project_member:alpha"]),
        )
    registration = Registration.objects.get()
    assert response.status_code == 302
    assert response.url == f"/governance/registrations/{registration.pk}/"
    assert [m.to for m in mailoutbox] == [["dpo@example.invalid"]]
    assert Notification.objects.filter(user=cast.dpo, link=response.url).exists()
    own = contact.get(response.url)
    assert "joins the memory study" in text(own) and 'id="decide"' not in text(own)

    dpo = factories.signed_in_client(cast.dpo)
    assert 'id="decide"' in text(dpo.get(response.url))
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = dpo.post(
            f"/governance/registrations/{registration.pk}/decision/",
            {"decision": "approve", "reason": "known to the site"},
        )
    assert confirmed.status_code == 302
    registration.refresh_from_db()
    assert registration.status == Registration.Status.AWAITING_APPROVAL
    assert {tuple(m.to) for m in mailoutbox[1:]} == {
        ("admin@example.invalid",),
        ("admin2@example.invalid",),
    }

    admin = factories.signed_in_client(cast.admin)
    with django_capture_on_commit_callbacks(execute=True):
        letter = admin.post(
            f"/governance/registrations/{registration.pk}/decision/", {"decision": "approve"}
        )
    assert letter.status_code == 200
    page = text(letter)
    code = re.search(r'id="letter-code">([0-9A-F-]{23})<', page)
    assert code is not None
    url = f"{django_settings.COHORTVAULT_SITE_URL}/enrol/{code.group(1)}/"
    assert '<code id="letter-username">p274-001</code>' in page
    assert f'<code id="letter-url">{url}</code>' in page
    assert qr_data_uri(url) in page  # the QR code holds exactly the enrolment address
    expires = EnrolmentCode.objects.get().expires_at
    assert timezone.localtime(expires).strftime("%Y-%m-%d %H:%M") in page
    assert any("approved" in m.subject and m.to == ["contact@example.invalid"] for m in mailoutbox)
    detail = text(admin.get(f"/governance/registrations/{registration.pk}/"))
    assert detail.count('class="who-decided"') == 2 and "known to the site" in detail
    follow_up = AccessRequest.objects.get(registration=registration)
    assert f'<a href="/governance/access/{follow_up.pk}/">' in detail

    newcomer = Client()
    step1 = newcomer.get(f"/enrol/{code.group(1)}/")
    assert step1.status_code == 200 and "p274-001" in text(step1)
    mismatch = newcomer.post(
        f"/enrol/{code.group(1)}/",
        {"step": "password", "password1": factories.PASSWORD, "password2": "something else"},
    )
    assert mismatch.status_code == 422 and "The two passwords differ." in text(mismatch)
    weak = newcomer.post(
        f"/enrol/{code.group(1)}/", {"step": "password", "password1": "abc", "password2": "abc"}
    )
    assert weak.status_code == 422 and "too weak" in text(weak)
    set_password = newcomer.post(
        f"/enrol/{code.group(1)}/",
        {"step": "password", "password1": factories.PASSWORD, "password2": factories.PASSWORD},
    )
    assert set_password.status_code == 302
    step2 = newcomer.get(f"/enrol/{code.group(1)}/")
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', text(step2))
    device_id = re.search(r'name="device_id" value="(\d+)"', text(step2))
    assert secret and device_id
    assert newcomer.get("/").status_code == 302  # not signed in before the second factor
    done = newcomer.post(
        f"/enrol/{code.group(1)}/",
        {"step": "authenticator", "device_id": device_id.group(1), "code": "000000"},
    )
    assert done.status_code == 422 and "not valid" in text(done)
    TOTPDevice.objects.update(throttling_failure_count=0)  # no waiting out the back-off
    done = newcomer.post(
        f"/enrol/{code.group(1)}/",
        {
            "step": "authenticator",
            "device_id": device_id.group(1),
            "code": current_code(secret.group(1)),
        },
    )
    assert done.status_code == 200
    assert len(re.findall(r"<li><code>[0-9A-F-]{19}</code></li>", text(done))) == 10
    dashboard = newcomer.get("/")
    assert dashboard.status_code == 200 and "Welcome, Nina Ny" in text(dashboard)
    account = User.objects.get(username="p274-001")
    assert account.is_active and not account.pending
    assert newcomer.get(f"/enrol/{code.group(1)}/").status_code == 404  # used up
    assert follow_up.subject == account
    assert text(admin.get("/governance/queue/")).count(f"/governance/access/{follow_up.pk}/") == 1

    again = Client()  # and later, a normal sign-in with password and a later one-time code
    again.post("/login/", {"username": "p274-001", "password": factories.PASSWORD})
    later = current_code(secret.group(1), at=time.time() + 30)
    assert again.post("/login/verify/", {"code": later}).url == "/"
    assert again.get("/").status_code == 200


def test_invalid_expired_and_used_codes_get_one_neutral_message(cast: Cast) -> None:
    _, code = approved_registration(cast)
    visitor = Client()
    unknown = visitor.get("/enrol/AAAAA-BBBBB-CCCCC-DDDDD/")
    assert unknown.status_code == 404 and INVALID_CODE in text(unknown)
    EnrolmentCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = visitor.post(
        f"/enrol/{code}/",
        {"step": "password", "password1": factories.PASSWORD, "password2": factories.PASSWORD},
    )
    assert expired.status_code == 404 and INVALID_CODE in text(expired)
    assert not User.objects.get(username="p274-001").has_usable_password()
    assert AuditEntry.objects.filter(action="enrolment.refused", outcome="failed").count() == 2


def test_administrator_issues_a_new_letter_and_the_old_code_stops_working(cast: Cast) -> None:
    registration, old = approved_registration(cast)
    admin = factories.signed_in_client(cast.admin)
    detail = text(admin.get(f"/governance/registrations/{registration.pk}/"))
    assert 'action="/governance/accounts/p274-001/enrolment-code/"' in detail
    letter = admin.post("/governance/accounts/p274-001/enrolment-code/")
    assert letter.status_code == 200
    new = re.search(r'id="letter-code">([0-9A-F-]{23})<', text(letter))
    assert new is not None and new.group(1) != old
    assert Client().get(f"/enrol/{old}/").status_code == 404
    assert Client().get(f"/enrol/{new.group(1)}/").status_code == 200

    contact = factories.signed_in_client(cast.contact)
    assert 'id="new-code"' not in text(contact.get(f"/governance/registrations/{registration.pk}/"))
    assert contact.post("/governance/accounts/p274-001/enrolment-code/").status_code == 403
    assert denied("contact", "access.administer")
    assert admin.post("/governance/accounts/contact/enrolment-code/").status_code == 404


def test_only_contact_persons_get_the_registration_form(cast: Cast) -> None:
    member = factories.signed_in_client(cast.member)
    page = member.get("/governance/registrations/new/")
    assert page.status_code == 403 and "Only a site" in text(page)
    refused = member.post("/governance/registrations/new/", registration_fields())
    assert refused.status_code == 403 and denied("member", "access.write")
    contact = factories.signed_in_client(cast.contact)
    other_site = contact.post("/governance/registrations/new/", registration_fields(site="berlin"))
    assert other_site.status_code == 403 and denied("contact", "access.write")
    assert not Registration.objects.exists()


# --- access changes ---------------------------------------------------------------------------


def test_access_change_through_the_pages_takes_effect_at_the_next_request(
    cast: Cast, project: Project, mailoutbox: list[Any], django_capture_on_commit_callbacks: Capture
) -> None:
    member = factories.signed_in_client(cast.member)
    token = factories_token(cast.member)
    bearer = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert member.get("/files/projects/alpha/").status_code == 404
    assert bearer.get("/api/v1/list/projects/alpha").status_code == 404

    form = member.get("/governance/access/new/")
    assert 'value="member"' in text(form)  # whose access: oneself by default
    with django_capture_on_commit_callbacks(execute=True):
        response = member.post(
            "/governance/access/new/",
            {
                "username": "member",
                "group": "project_member:alpha",
                "operation": "add",
                "reason": "analyses for alpha",
                "valid_until": (timezone.localdate() + timedelta(days=30)).isoformat(),
            },
        )
    assert response.status_code == 302
    request = AccessRequest.objects.get()
    assert request.status == "awaiting_approval" and request.valid_until is not None
    assert {m.to[0] for m in mailoutbox} == {"admin@example.invalid", "admin2@example.invalid"}

    admin = factories.signed_in_client(cast.admin)
    assert f"/governance/access/{request.pk}/" in text(admin.get("/governance/queue/"))
    with django_capture_on_commit_callbacks(execute=True):
        decided = admin.post(
            f"/governance/access/{request.pk}/decision/", {"decision": "approve", "reason": "ok"}
        )
    assert decided.status_code == 302
    assert member.get("/files/projects/alpha/").status_code == 200
    assert bearer.get("/api/v1/list/projects/alpha").status_code == 200
    assert any(m.to == ["member@example.invalid"] and "approved" in m.subject for m in mailoutbox)
    mine = text(member.get("/governance/"))
    assert "project_member:alpha" in mine and "analyses for alpha" not in mine  # reason stays put
    until = timezone.localtime(Membership.objects.get(group__project=project).valid_until)
    assert until.strftime("%Y-%m-%d %H:%M") in mine

    contact = factories.signed_in_client(cast.contact)
    contact.post(
        "/governance/access/new/",
        {
            "username": "member",
            "group": "project_member:alpha",
            "operation": "remove",
            "reason": "left the project",
        },
    )
    removal = AccessRequest.objects.get(operation="remove")
    admin.post(f"/governance/access/{removal.pk}/decision/", {"decision": "approve"})
    assert member.get("/files/projects/alpha/").status_code == 404
    assert bearer.get("/api/v1/list/projects/alpha").status_code == 404
    past = text(member.get("/governance/"))
    assert "left the project" not in past and f"/governance/access/{removal.pk}/" in past
    assert Membership.objects.filter(user=cast.member, ended_at__isnull=False).count() == 1


def factories_token(user: User) -> str:
    response = Client().post(
        "/api/v1/auth/token",
        {"username": user.username, "password": factories.PASSWORD, "otp": fresh_totp(user)},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return str(response.json()["token"])


def test_exporter_needs_the_assembly_then_the_administrator(cast: Cast) -> None:
    pk = access_request(cast, GroupRef(Role.EXPORTER))
    admin = factories.signed_in_client(cast.admin)
    page = text(admin.get(f"/governance/access/{pk}/"))
    assert 'id="decide"' not in page  # the assembly decides first
    early = admin.post(f"/governance/access/{pk}/decision/", {"decision": "approve"})
    assert early.status_code == 403
    assert denied("admin")
    approver = factories.signed_in_client(cast.approver)
    page = text(approver.get(f"/governance/access/{pk}/"))
    assert 'id="decide"' in page and 'name="reference"' in page
    approver.post(
        f"/governance/access/{pk}/decision/",
        {"decision": "approve", "reason": "agreed", "reference": "GA minutes 2026-03"},
    )
    assert AccessRequest.objects.get(pk=pk).status == "awaiting_approval"
    assert "GA minutes 2026-03" in text(admin.get(f"/governance/access/{pk}/"))
    admin.post(f"/governance/access/{pk}/decision/", {"decision": "approve"})
    assert p(cast.member).has(Role.EXPORTER)


@pytest.mark.parametrize(
    ("who", "setup"),
    [
        ("admin", "own request"),  # self-approval
        ("admin", "grants oneself"),
        ("admin", "wrong order"),
        ("approver", "wrong role"),
        ("dpo", "wrong role"),
        ("member", "wrong role"),
    ],
)
def test_four_eyes_on_every_access_path(cast: Cast, who: str, setup: str) -> None:
    match setup:
        case "own request":
            pk = access_request(cast, GroupRef(Role.APPROVER), by="admin")
        case "grants oneself":
            pk = access_request(cast, GroupRef(Role.DATA_PROTECTION_OFFICER), whom="admin")
        case "wrong order":
            pk = access_request(cast, GroupRef(Role.DATA_MANAGER))
        case _:
            pk = access_request(cast, GroupRef(Role.APPROVER), by="contact", whom="contact")
    client = factories.signed_in_client(cast[who])
    response = client.post(f"/governance/access/{pk}/decision/", {"decision": "approve"})
    assert response.status_code == 403
    assert AccessRequest.objects.get(pk=pk).decisions.count() == 0
    assert denied(who)


@pytest.mark.parametrize(("who", "step"), [("admin", "confirm"), ("dpo", "administrator")])
def test_registration_steps_by_the_right_role_in_the_right_order(
    cast: Cast, who: str, step: str
) -> None:
    registration = services.request_registration(p(cast.contact), **registration_fields())
    if step == "administrator":
        services.decide_registration(p(cast.dpo), registration.pk, approve=True, fresh=True)
    client = factories.signed_in_client(cast[who])
    assert 'id="decide"' not in text(client.get(f"/governance/registrations/{registration.pk}/"))
    response = client.post(
        f"/governance/registrations/{registration.pk}/decision/", {"decision": "approve"}
    )
    assert response.status_code == 403
    assert denied(who)


def test_the_requester_may_not_decide_a_registration_even_as_dpo(cast: Cast, site: Site) -> None:
    factories.grant(cast.contact, Role.DATA_PROTECTION_OFFICER)
    registration = services.request_registration(p(cast.contact), **registration_fields())
    contact = factories.signed_in_client(cast.contact)
    response = contact.post(
        f"/governance/registrations/{registration.pk}/decision/", {"decision": "approve"}
    )
    assert response.status_code == 403 and denied("contact")


def test_a_stale_second_factor_is_sent_to_reauthenticate(cast: Cast) -> None:
    target = reverse("identity:reauthenticate")
    pk = access_request(cast, GroupRef(Role.APPROVER))
    registration = services.request_registration(p(cast.contact), **registration_fields())
    admin = factories.signed_in_client(cast.admin)
    dpo = factories.signed_in_client(cast.dpo)
    for client in (admin, dpo):
        session = client.session
        session[VERIFIED_AT] = 0
        session.save()
    page = f"/governance/access/{pk}/"
    detail = text(admin.get(page))
    assert 'id="confirm-first"' in detail and 'name="decision"' not in detail
    assert f'href="{target}?{urlencode({"next": page})}"' in detail
    response = admin.post(f"{page}decision/", {"decision": "approve"}, HTTP_REFERER=page)
    assert response.status_code == 302
    assert response.url == f"{target}?{urlencode({'next': page})}"
    assert AccessRequest.objects.get(pk=pk).status == "awaiting_approval"
    assert not AccessRequest.objects.get(pk=pk).decisions.exists()
    assert admin.get(f"{page}decision/").url == page  # a GET there leads to the request
    confirm = f"/governance/registrations/{registration.pk}/"
    response = dpo.post(f"{confirm}decision/", {"decision": "approve"}, HTTP_REFERER=confirm)
    assert response.url == f"{target}?{urlencode({'next': confirm})}"
    assert Registration.objects.get().status == "awaiting_confirmation"
    new_code = admin.post("/governance/accounts/whoever/enrolment-code/")
    assert new_code.url.startswith(target)
    session = admin.session
    session[VERIFIED_AT] = time.time()  # as after giving the second factor again
    session.save()
    assert admin.post(f"{page}decision/", {"decision": "approve"}).status_code == 302
    assert AccessRequest.objects.get(pk=pk).status == "approved"


def test_refusal_needs_a_reason_and_the_requester_sees_it(cast: Cast) -> None:
    pk = access_request(cast, GroupRef(Role.APPROVER))
    admin = factories.signed_in_client(cast.admin)
    bare = admin.post(f"/governance/access/{pk}/decision/", {"decision": "refuse"})
    assert bare.status_code == 422 and "Say why you refuse." in text(bare)
    admin.post(
        f"/governance/access/{pk}/decision/", {"decision": "refuse", "reason": "not this year"}
    )
    member = factories.signed_in_client(cast.member)
    page = text(member.get(f"/governance/access/{pk}/"))
    assert "not this year" in page and "Refused" in page.title()
    assert Notification.objects.filter(user=cast.member, text__contains="refused").exists()


def test_withdrawal_by_the_requester_only(cast: Cast) -> None:
    pk = access_request(cast, GroupRef(Role.APPROVER))
    admin = factories.signed_in_client(cast.admin)
    assert "Withdraw" not in text(admin.get(f"/governance/access/{pk}/"))
    assert admin.post(f"/governance/access/{pk}/withdraw/").status_code == 404
    member = factories.signed_in_client(cast.member)
    assert "Withdraw the request" in text(member.get(f"/governance/access/{pk}/"))
    assert member.post(f"/governance/access/{pk}/withdraw/").status_code == 302
    assert AccessRequest.objects.get(pk=pk).status == "withdrawn"
    assert AuditEntry.objects.filter(action="access_request.withdraw", actor="member").exists()


def test_strangers_cannot_read_requests(cast: Cast) -> None:
    pk = access_request(cast, GroupRef(Role.APPROVER))
    registration = services.request_registration(p(cast.contact), **registration_fields())
    stranger = factories.signed_in_client(person("stranger"))
    assert stranger.get(f"/governance/access/{pk}/").status_code == 404
    assert stranger.get(f"/governance/registrations/{registration.pk}/").status_code == 404
    assert stranger.get("/governance/access/99999/").status_code == 404
    assert AuditEntry.objects.filter(actor="stranger", outcome="denied").count() == 2
    approver = factories.signed_in_client(cast.approver)
    assert approver.get(f"/governance/access/{pk}/").status_code == 404  # not an assembly matter


# --- overview pages ---------------------------------------------------------------------------


def test_queue_shows_each_decider_what_awaits_them(cast: Cast) -> None:
    registration = services.request_registration(p(cast.contact), **registration_fields())
    exporter = access_request(cast, GroupRef(Role.EXPORTER))
    own = access_request(cast, GroupRef(Role.APPROVER), by="admin")
    dpo = text(factories.signed_in_client(cast.dpo).get("/governance/queue/"))
    assert f"/governance/registrations/{registration.pk}/" in dpo
    approver = text(factories.signed_in_client(cast.approver).get("/governance/queue/"))
    assert f"/governance/access/{exporter}/" in approver and "/registrations/" not in approver
    admin = text(factories.signed_in_client(cast.admin).get("/governance/queue/"))
    assert f"/governance/access/{own}/" not in admin and 'href="/governance/queue/"' in admin
    admin2 = text(factories.signed_in_client(cast.admin2).get("/governance/queue/"))
    assert f"/governance/access/{own}/" in admin2
    member = factories.signed_in_client(cast.member)
    assert 'href="/governance/queue/"' not in text(member.get("/"))
    assert "No access change awaits you." in text(member.get("/governance/queue/"))


def test_my_access_shows_memberships_requests_and_registrations(cast: Cast) -> None:
    lapsing = factories.grant(
        cast.contact, Role.EXPORTER, valid_until=timezone.now() + timedelta(days=3)
    )
    old = factories.grant(cast.contact, Role.APPROVER)
    old.ended_at = timezone.now() - timedelta(days=1)
    old.save()
    mine = access_request(cast, GroupRef(Role.DATA_MANAGER), by="contact", whom="contact")
    about = access_request(cast, GroupRef(Role.APPROVER), by="member", whom="contact")
    registration = services.request_registration(p(cast.contact), **registration_fields())
    page = text(factories.signed_in_client(cast.contact).get("/governance/"))
    current = page[page.index('id="current-memberships"') : page.index('id="my-requests"')]
    assert "site_member:oslo" in current and "contact person" in current
    assert timezone.localtime(lapsing.valid_until).strftime("%Y-%m-%d %H:%M") in current  # type: ignore[arg-type]
    past = page[page.index('id="past-memberships"') :]
    assert "approver" in past and "site_member" not in past
    assert f"/governance/access/{mine}/" in page[page.index('id="my-requests"') :]
    assert f"/governance/access/{about}/" in page[page.index('id="requests-about-me"') :]
    assert f"/governance/registrations/{registration.pk}/" in page
    assert "Everyone&#x27;s memberships" not in page


@pytest.mark.parametrize(("who", "allowed"), [("admin", True), ("dpo", True), ("member", False)])
def test_membership_history_for_administrator_and_dpo(cast: Cast, who: str, allowed: bool) -> None:
    ended = factories.grant(cast.member, Role.EXPORTER)
    ended.ended_at = timezone.now()
    ended.save()
    client = factories.signed_in_client(cast[who])
    response = client.get("/governance/memberships/?user=member")
    if not allowed:
        assert response.status_code == 403 and denied(who, "access.read")
        return
    page = text(response)
    assert response.status_code == 200
    assert "exporter" in page and "ended" in page and "site_member:oslo" in page
    assert "dpo" not in page[page.index('id="memberships"') :]
    everyone = text(client.get("/governance/memberships/"))
    assert everyone.count('<tr class="state-') == Membership.objects.count()
    entries = AuditEntry.objects.filter(action="membership.history.read", actor=who)
    assert [e.target for e in entries.order_by("seq")] == ["user member", "all memberships"]


def test_notifications_list_mark_read_and_unread_count_in_the_menu(cast: Cast) -> None:
    first = access_request(cast, GroupRef(Role.APPROVER))
    second = access_request(cast, GroupRef(Role.APPROVER), whom="contact")
    admin = factories.signed_in_client(cast.admin)
    page = text(admin.get("/governance/notifications/"))
    assert '<span class="count" aria-label="2 unread">2</span>' in page
    assert page.count('class="notification unread"') == 2
    note = Notification.objects.get(user=cast.admin, link=f"/governance/access/{first}/")
    newer = Notification.objects.get(user=cast.admin, link=f"/governance/access/{second}/")
    newest_first = page.index(f"/notifications/{newer.pk}/read/") < page.index(
        f"/notifications/{note.pk}/read/"
    )
    assert newest_first
    opened = admin.post(f"/governance/notifications/{note.pk}/read/", {"open": "1"})
    assert opened.url == f"/governance/access/{first}/"
    page = text(admin.get("/"))
    assert 'aria-label="1 unread"' in page
    admin.post("/governance/notifications/read/")
    assert 'class="count"' not in text(admin.get("/"))
    other = Notification.objects.filter(user=cast.admin2).first()
    assert other is not None
    assert admin.post(f"/governance/notifications/{other.pk}/read/").status_code == 404
    assert Notification.objects.get(pk=other.pk).read_at is None


def test_notification_links_never_leave_the_site(cast: Cast) -> None:
    note = Notification.objects.create(user=cast.member, text="x", link="//evil.example/")
    member = factories.signed_in_client(cast.member)
    response = member.post(f"/governance/notifications/{note.pk}/read/", {"open": "1"})
    assert response.url == "/governance/notifications/"


# --- hostile and bad input --------------------------------------------------------------------

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_html_in_names_and_reasons_is_escaped_everywhere(
    cast: Cast, django_capture_on_commit_callbacks: Capture, mailoutbox: list[Any]
) -> None:
    contact = factories.signed_in_client(cast.contact)
    with django_capture_on_commit_callbacks(execute=True):
        response = contact.post(
            "/governance/registrations/new/",
            registration_fields(first_name=HOSTILE, last_name=HOSTILE, reason=HOSTILE),
        )
    assert response.status_code == 302
    registration = Registration.objects.get()
    assert registration.first_name == HOSTILE  # kept as typed, shown as text
    dpo = factories.signed_in_client(cast.dpo)
    admin = factories.signed_in_client(cast.admin)
    services.decide_registration(p(cast.dpo), registration.pk, approve=True, fresh=True)
    letter = admin.post(
        f"/governance/registrations/{registration.pk}/decision/", {"decision": "approve"}
    )
    pages = [
        dpo.get(f"/governance/registrations/{registration.pk}/"),
        dpo.get("/governance/notifications/"),
        admin.get("/governance/notifications/"),
        letter,
        contact.get("/governance/"),
    ]
    for page in pages:
        body = text(page)
        assert "<script>" not in body and "<img src=x" not in body
        assert "&lt;script&gt;" in body
    assert len(mailoutbox) == 1 and "<script>" in mailoutbox[0].subject  # plain-text mail


def test_bad_registration_input_gets_clear_errors(cast: Cast) -> None:
    contact = factories.signed_in_client(cast.contact)
    cases = {
        "E-mail: Enter a valid email address.": registration_fields(email="not-an-address"),
        "Further groups (optional): Select a valid choice.": registration_fields(
            groups=["project_member:nope"]
        ),
        "Keep the reason under 2000 characters (it was 100000).": registration_fields(
            reason="x" * 100_000
        ),
        "Write the name on one line": registration_fields(last_name="Ny\r\nBcc: x@evil.example"),
        "Reason: This field is required.": registration_fields(reason=""),
    }
    for message, fields in cases.items():
        response = contact.post("/governance/registrations/new/", fields)
        assert response.status_code == 422, message
        assert message in text(response).replace("&#x27;", "'"), message
    assert not Registration.objects.exists()


def test_bad_access_request_input_gets_clear_errors(cast: Cast, project: Project) -> None:
    member = factories.signed_in_client(cast.member)
    base = {"username": "member", "group": "approver", "operation": "add", "reason": "r"}
    cases = [
        ({"group": "superuser"}, 422, "Group: Select a valid choice."),
        ({"username": "ghost"}, 404, "No user &#x27;ghost&#x27;."),
        ({"group": "site_member:oslo"}, 409, "member is already in site_member:oslo."),
        ({"reason": "y" * 5000}, 422, "Keep the reason under 2000 characters"),
        ({"valid_until": "2001-01-01"}, 422, "The end date lies in the past."),
        ({"operation": "remove", "group": "exporter"}, 409, "member is not in exporter."),
        ({"operation": "remove", "valid_until": "2999-01-01"}, 422, "belongs to an addition"),
    ]
    for change, status, message in cases:
        response = member.post("/governance/access/new/", base | change)
        assert response.status_code == status, change
        assert message in text(response), change
    assert not AccessRequest.objects.exists()


def test_membership_administration_is_read_only(cast: Cast) -> None:
    admin = factories.signed_in_client(cast.admin)
    membership = Membership.objects.filter(user=cast.member).get()
    listing = admin.get("/admin/consortium/membership/")
    assert listing.status_code == 200
    page = text(listing)
    assert 'href="/governance/access/new/"' in page
    assert 'href="/governance/memberships/?user=member"' in page
    assert "end_memberships" not in page and "delete_selected" not in page
    assert admin.get("/admin/consortium/membership/add/").status_code == 403
    view = admin.get(f"/admin/consortium/membership/{membership.pk}/change/")
    assert view.status_code == 200 and 'type="submit"' not in text(view).split("<form")[-1]
    changed = admin.post(
        f"/admin/consortium/membership/{membership.pk}/change/", {"valid_until_0": "2000-01-01"}
    )
    assert changed.status_code == 403
    assert admin.post(f"/admin/consortium/membership/{membership.pk}/delete/").status_code == 403
    assert admin.get(f"/admin/consortium/membership/{membership.pk}/history/").status_code == 200
    membership.refresh_from_db()
    assert membership.valid_until is None and membership.ended_at is None


def test_mail_subjects_stay_one_line(
    cast: Cast, mailoutbox: list[Any], django_capture_on_commit_callbacks: Capture
) -> None:
    """A notification text with a line break must not cost its reader the e-mail: Django
    refuses header injection, which would drop the message. (The services refuse multi-line
    names; this guards every other text that reaches a subject.)"""
    from cohortvault.governance.notify import notify

    with django_capture_on_commit_callbacks(execute=True):
        notify(User.objects.get(username="dpo"), "Ny\nBcc: victim@example.org")
    assert len(mailoutbox) == 1
    assert "\n" not in mailoutbox[0].subject and mailoutbox[0].to == ["dpo@example.invalid"]
    assert mailoutbox[0].bcc == []
