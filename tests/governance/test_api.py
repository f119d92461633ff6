"""The governance API: the same chains as the pages, decided with a one-time code in the body,
through bearer tokens; four eyes, visibility, notifications and bad input in the error shape."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

from cohortvault.access.policy import Role
from cohortvault.audit.models import AuditEntry
from cohortvault.consortium.models import Membership, Project, Site
from cohortvault.governance import enrolment
from cohortvault.governance.models import AccessRequest, Registration
from cohortvault.governance.services import GroupRef
from cohortvault.identity.models import User
from tests import factories
from tests.governance.test_pages import (
    HOSTILE,
    Capture,
    Cast,
    access_request,
    denied,
    factories_token,
    fresh_totp,
    make_cast,
    person,
    registration_fields,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast(site: Site) -> Cast:
    return make_cast(site)


class Api:
    """A script's view of the API: a bearer token and JSON in, JSON out."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {factories_token(user)}")

    def get(self, path: str, **query: Any) -> Any:
        return self.client.get("/api/v1" + path, query)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post("/api/v1" + path, body or {}, content_type="application/json")

    def decide(self, path: str, **body: Any) -> Any:
        return self.post(path, {"otp": fresh_totp(self.user), "approve": True, **body})


def error(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    assert set(body) >= {"code", "message", "request_id"}
    return body


def test_registration_chain_through_the_api(
    cast: Cast,
    project: Project,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    contact, dpo, admin = Api(cast.contact), Api(cast.dpo), Api(cast.admin)
    with django_capture_on_commit_callbacks(execute=True):
        created = contact.post(
            "/registrations",
            registration_fields(groups=[{"role": "project_member", "project": "alpha"}]),
        )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "awaiting_confirmation" and body["requested_groups"] == [
        "project_member:alpha"
    ]
    assert [m.to for m in mailoutbox] == [["dpo@example.invalid"]]
    rid = body["id"]
    assert [r["id"] for r in dpo.get("/queue").json()["registrations"]] == [rid]

    confirmed = dpo.decide(f"/registrations/{rid}/decision", reason="known")
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["status"] == "awaiting_approval"
    assert confirmed.json()["enrolment_code"] is None
    approved = admin.decide(f"/registrations/{rid}/decision")
    assert approved.status_code == 200, approved.content
    result = approved.json()
    assert result["status"] == "approved" and result["account"] == "p274-001"
    code = result["enrolment_code"]
    assert result["enrolment_url"] == f"{django_settings.COHORTVAULT_SITE_URL}/enrol/{code}/"
    assert enrolment.enrolment_for(code).user.username == "p274-001"
    assert [(d["step"], d["decided_by"]) for d in result["decisions"]] == [
        ("confirm", "dpo"),
        ("administrator", "admin"),
    ]
    again = contact.get(f"/registrations/{rid}").json()
    assert "enrolment_code" not in again and again["decisions"][0]["reason"] == "known"
    assert [r["id"] for r in contact.get("/registrations").json()] == [rid]
    assert Api(cast.member).get("/registrations").json() == []
    follow_up = admin.get("/queue").json()["access_requests"]
    assert [(r["subject"], r["group"]) for r in follow_up] == [("p274-001", "project_member:alpha")]


def test_decisions_need_a_correct_one_time_code(cast: Cast) -> None:
    pk = access_request(cast, GroupRef(Role.APPROVER))
    admin = Api(cast.admin)
    wrong = admin.post(f"/access-requests/{pk}/decision", {"approve": True, "otp": "000000"})
    assert wrong.status_code == 401 and error(wrong)["code"] == "not_authenticated"
    missing = admin.post(f"/access-requests/{pk}/decision", {"approve": True})
    assert missing.status_code == 422 and error(missing)["code"] == "invalid"
    assert AccessRequest.objects.get(pk=pk).status == "awaiting_approval"
    assert AuditEntry.objects.filter(
        action="login.second_factor", actor="admin", outcome="failed"
    ).exists()
    assert admin.decide(f"/access-requests/{pk}/decision").status_code == 200


def test_access_change_through_the_api_takes_effect_at_the_next_request(
    cast: Cast, other_site: Site, django_capture_on_commit_callbacks: Capture
) -> None:
    member, approver, admin = Api(cast.member), Api(cast.approver), Api(cast.admin)
    web = factories.signed_in_client(cast.member)
    assert member.get("/list/sites/berlin/data").status_code == 404
    created = member.post(
        "/access-requests",
        {"username": "member", "group": {"role": "data_manager"}, "operation": "add",
         "reason": "back-up curator"},
    )  # fmt: skip
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert created.json()["status"] == "awaiting_assembly"
    assert admin.get("/queue").json()["access_requests"] == []  # the assembly goes first
    first = approver.decide(f"/access-requests/{pk}/decision", reference="GA 2026-11")
    assert first.json()["status"] == "awaiting_approval"
    assert first.json()["decisions"][0]["reference"] == "GA 2026-11"
    assert member.get("/list/sites/berlin/data").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        final = admin.decide(f"/access-requests/{pk}/decision", reason="agreed")
    assert final.json()["status"] == "approved"
    assert member.get("/list/sites/berlin/data").status_code == 200
    assert "data_manager" in member.get("/me").json()["roles"]
    assert web.get("/files/sites/berlin/data/").status_code == 200
    texts = [n["text"] for n in member.get("/notifications").json()]
    assert any("approved" in t for t in texts) and any("assembly" in t for t in texts)

    removal = Api(cast.admin2).post(
        "/access-requests",
        {"username": "member", "group": {"role": "data_manager"}, "operation": "remove",
         "reason": "back-up no longer needed"},
    )  # fmt: skip
    assert removal.json()["status"] == "awaiting_approval"  # removals need no assembly
    admin.decide(f"/access-requests/{removal.json()['id']}/decision")
    refused = member.get("/list/sites/berlin/data")
    assert refused.status_code == 404 and error(refused)["code"] == "not_found"
    assert "data_manager" not in member.get("/me").json()["roles"]
    assert web.get("/files/sites/berlin/data/").status_code == 404
    assert Membership.objects.filter(group__role="data_manager", ended_at__isnull=False).exists()


@pytest.mark.parametrize(
    ("who", "setup"),
    [
        ("admin", "own request"),
        ("admin", "grants oneself"),
        ("admin", "wrong order"),
        ("approver", "wrong role"),
        ("member", "wrong role"),
    ],
)
def test_four_eyes_through_the_api(cast: Cast, who: str, setup: str) -> None:
    match setup:
        case "own request":
            pk = access_request(cast, GroupRef(Role.APPROVER), by="admin")
        case "grants oneself":
            pk = access_request(cast, GroupRef(Role.APPROVER), whom="admin")
        case "wrong order":
            pk = access_request(cast, GroupRef(Role.EXPORTER))
        case _:
            pk = access_request(cast, GroupRef(Role.APPROVER), by="contact", whom="contact")
    response = Api(cast[who]).decide(f"/access-requests/{pk}/decision")
    assert response.status_code == 403 and error(response)["code"] == "permission_denied"
    assert AccessRequest.objects.get(pk=pk).decisions.count() == 0
    assert denied(who)


def test_registration_four_eyes_through_the_api(cast: Cast) -> None:
    rid = Api(cast.contact).post("/registrations", registration_fields()).json()["id"]
    admin = Api(cast.admin)
    assert admin.decide(f"/registrations/{rid}/decision").status_code == 403  # DPO first
    assert denied("admin")
    factories.grant(cast.contact, Role.DATA_PROTECTION_OFFICER)
    own = Api(cast.contact).decide(f"/registrations/{rid}/decision")
    assert own.status_code == 403 and denied("contact")
    assert Registration.objects.get().status == "awaiting_confirmation"


def test_requests_are_visible_to_those_involved_only(cast: Cast) -> None:
    pk = access_request(cast, GroupRef(Role.APPROVER))
    stranger = Api(person("stranger"))
    hidden = stranger.get(f"/access-requests/{pk}")
    assert hidden.status_code == 404 and error(hidden)["code"] == "not_found"
    assert stranger.get("/access-requests").json() == []
    assert denied("stranger", "access.read")
    assert [r["id"] for r in Api(cast.member).get("/access-requests").json()] == [pk]
    assert Api(cast.admin).get(f"/access-requests/{pk}").json()["subject"] == "member"


def test_withdrawal_through_the_api(cast: Cast) -> None:
    pk = access_request(cast, GroupRef(Role.APPROVER))
    assert Api(cast.admin).post(f"/access-requests/{pk}/withdraw").status_code == 404
    member = Api(cast.member)
    assert member.post(f"/access-requests/{pk}/withdraw").json()["status"] == "withdrawn"
    again = member.post(f"/access-requests/{pk}/withdraw")
    assert again.status_code == 409 and error(again)["code"] == "conflict"


def test_notifications_through_the_api(cast: Cast) -> None:
    first = access_request(cast, GroupRef(Role.APPROVER))
    second = access_request(cast, GroupRef(Role.APPROVER), whom="contact")
    admin = Api(cast.admin)
    links = [n["link"] for n in admin.get("/notifications").json()]
    assert links == [f"/governance/access/{second}/", f"/governance/access/{first}/"]
    assert all(n["read_at"] is None for n in admin.get("/notifications", unread="true").json())
    assert Api(cast.member).get("/notifications").json() == []


def test_bad_input_gets_clear_errors_in_the_error_shape(cast: Cast, project: Project) -> None:
    contact = Api(cast.contact)
    bad_email = contact.post("/registrations", registration_fields(email="nope"))
    assert bad_email.status_code == 422
    assert "'nope' is not an e-mail address" in error(bad_email)["details"]
    unknown_role = contact.post(
        "/registrations", registration_fields(groups=[{"role": "superuser"}])
    )
    assert unknown_role.status_code == 422 and error(unknown_role)["code"] == "invalid"
    unknown_project = contact.post(
        "/registrations", registration_fields(groups=[{"role": "project_member", "project": "x"}])
    )
    assert unknown_project.status_code == 404
    assert error(unknown_project)["message"] == "No project 'x'."
    mismatched = contact.post(
        "/registrations", registration_fields(groups=[{"role": "exporter", "site": "oslo"}])
    )
    assert (
        mismatched.status_code == 422
        and "Site membership needs a site" in (error(mismatched)["message"])
    )
    huge = contact.post("/registrations", registration_fields(reason="x" * 100_000))
    assert huge.status_code == 422 and "2000" in str(error(huge)["details"])
    for field in ("reason", "first_name"):
        nul = contact.post("/registrations", registration_fields(**{field: "a\x00b"}))
        assert nul.status_code == 422, field
    long_name = contact.post("/registrations", registration_fields(last_name="n" * 151))
    assert long_name.status_code == 422
    assert not Registration.objects.exists()

    member = Api(cast.member)
    for body, status in [
        ({"username": "ghost", "group": {"role": "approver"}}, 404),
        ({"username": "member", "group": {"role": "site_member", "site": "oslo"}}, 409),
        ({"username": "member", "group": {"role": "approver"}, "operation": "promote"}, 422),
        ({"username": "member", "group": {"role": "approver"}, "reason": " "}, 422),
        ({"username": "member", "group": {"role": "approver"},
          "valid_until": "2001-01-01T00:00:00Z"}, 422),
    ]:  # fmt: skip
        response = member.post("/access-requests", {"operation": "add", "reason": "r"} | body)
        assert response.status_code == status, body
        assert error(response)["message"]
    pk = access_request(cast, GroupRef(Role.APPROVER))
    long_reference = Api(cast.admin).decide(f"/access-requests/{pk}/decision", reference="r" * 201)
    assert long_reference.status_code == 422
    refusal = Api(cast.admin).decide(f"/access-requests/{pk}/decision", approve=False)
    assert refusal.status_code == 422 and "Say why" in error(refusal)["message"]


def test_html_is_kept_as_text_in_the_api(cast: Cast) -> None:
    created = Api(cast.contact).post(
        "/registrations", registration_fields(first_name=HOSTILE, reason=HOSTILE)
    )
    assert created.status_code == 201
    assert created["Content-Type"] == "application/json; charset=utf-8"
    assert created.json()["first_name"] == HOSTILE


def test_the_routes_are_described_in_the_openapi_schema() -> None:
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    for path, method in [
        ("/api/v1/registrations", "post"),
        ("/api/v1/registrations/{registration_id}/decision", "post"),
        ("/api/v1/access-requests", "get"),
        ("/api/v1/access-requests/{request_id}/decision", "post"),
        ("/api/v1/access-requests/{request_id}/withdraw", "post"),
        ("/api/v1/queue", "get"),
        ("/api/v1/notifications", "get"),
    ]:
        assert method in paths[path], path
    decision = paths["/api/v1/access-requests/{request_id}/decision"]["post"]
    assert "otp" in str(decision["requestBody"]) or "AccessDecisionIn" in str(decision)
