"""API authentication: tokens from password plus code, bearer use, revocation, disabled users."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from cohortvault.access.policy import Role
from cohortvault.audit.models import AuditEntry
from cohortvault.identity.models import ApiToken, User
from tests import factories

pytestmark = pytest.mark.django_db


def get_token(
    client: Client, user: User, *, otp: str | None = None, password: str = factories.PASSWORD
):
    device = TOTPDevice.objects.get(user=user)
    return client.post(
        "/api/v1/auth/token",
        {"username": user.username, "password": password, "otp": otp or factories.code_for(device)},
        content_type="application/json",
    )


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_token_then_me(site_member: User, site, project) -> None:
    factories.grant(site_member, Role.PROJECT_MEMBER, project=project)
    client = Client()
    response = get_token(client, site_member)
    assert response.status_code == 200
    body = response.json()
    assert body["token"].startswith("cv1_") and body["expires_at"]
    stored = ApiToken.objects.get(user=site_member)
    assert body["token"] not in (stored.token_hash, stored.prefix)
    me = client.get("/api/v1/me", **bearer(body["token"])).json()
    assert me["username"] == "oslo1"
    assert me["roles"] == ["project_member", "site_member"]
    assert [s["code"] for s in me["sites"]] == ["oslo"]
    assert [p["code"] for p in me["projects"]] == ["alpha"]
    areas = {a["path"]: a["permissions"] for a in me["areas"]}
    assert areas["sites/oslo/data"] == ["list", "read"]
    assert areas["sites/oslo/import"] == ["list", "read", "write", "delete"]
    assert areas["logs"] == ["list", "read"]
    assert areas["home/oslo1"] == ["list", "read", "write", "delete"]
    assert "projects/alpha" in areas
    assert AuditEntry.objects.filter(action="token.issue", actor="oslo1").exists()


def test_other_site_is_not_reachable(site_member: User, other_site) -> None:
    client = Client()
    token = get_token(client, site_member).json()["token"]
    paths = {a["path"] for a in client.get("/api/v1/me", **bearer(token)).json()["areas"]}
    assert "sites/berlin/data" not in paths and "sites/berlin/import" not in paths


@pytest.mark.parametrize("what", ["password", "otp", "user"])
def test_bad_credentials_all_answer_the_same(user: User, what: str) -> None:
    client = Client()
    if what == "password":
        response = get_token(client, user, password="wrong password 12345")
    elif what == "otp":
        response = get_token(client, user, otp="000000")
    else:
        response = client.post(
            "/api/v1/auth/token",
            {"username": "ghost", "password": "x" * 12, "otp": "123456"},
            content_type="application/json",
        )
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "not_authenticated"
    assert error["message"] == "Invalid username, password or one-time code."
    assert error["request_id"] == response["X-Request-ID"]


def test_token_code_cannot_be_replayed(user: User) -> None:
    device = TOTPDevice.objects.get(user=user)
    code = factories.code_for(device)
    assert get_token(Client(), user, otp=code).status_code == 200
    assert get_token(Client(), user, otp=code).status_code == 401


def test_disabled_user_token_is_refused_at_the_next_request(user: User) -> None:
    client = Client()
    token = get_token(client, user).json()["token"]
    assert client.get("/api/v1/me", **bearer(token)).status_code == 200
    User.objects.filter(pk=user.pk).update(is_active=False)
    response = client.get("/api/v1/me", **bearer(token))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_removed_membership_takes_effect_at_the_next_request(site_member: User) -> None:
    client = Client()
    token = get_token(client, site_member).json()["token"]
    assert "site_member" in client.get("/api/v1/me", **bearer(token)).json()["roles"]
    site_member.memberships.update(ended_at=timezone.now())
    assert client.get("/api/v1/me", **bearer(token)).json()["roles"] == []


def test_revoked_and_expired_tokens_are_refused(user: User) -> None:
    client = Client()
    token = get_token(client, user).json()["token"]
    assert client.delete("/api/v1/auth/token", **bearer(token)).status_code == 204
    assert client.get("/api/v1/me", **bearer(token)).status_code == 401
    assert AuditEntry.objects.filter(action="token.revoke").exists()
    TOTPDevice.objects.filter(user=user).update(last_t=-1)  # allow a second code in this step
    token2 = get_token(client, user).json()["token"]
    ApiToken.objects.filter(revoked_at__isnull=True).update(expires_at=timezone.now())
    assert client.get("/api/v1/me", **bearer(token2)).status_code == 401


@pytest.mark.parametrize(
    "header", ["Bearer nonsense", "Bearer cv1_" + "a" * 43, "Basic dXNlcjpwYXNz", "Bearer "]
)
def test_malformed_authorization_is_refused(header: str) -> None:
    response = Client().get("/api/v1/me", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"code", "message", "request_id"}


def test_verified_browser_session_can_use_the_api(user: User) -> None:
    client = factories.signed_in_client(user)
    assert client.get("/api/v1/me").json()["username"] == "plain"


def test_password_only_session_cannot_use_the_api(user: User) -> None:
    client = Client()
    client.post("/login/", {"username": "plain", "password": factories.PASSWORD})
    assert client.get("/api/v1/me").status_code == 401


def test_malformed_token_request_gets_the_error_shape() -> None:
    response = Client().post("/api/v1/auth/token", "{not json", content_type="application/json")
    assert response.status_code in (400, 422)
    assert response.json()["error"]["request_id"]
    response = Client().post(
        "/api/v1/auth/token", {"username": "x"}, content_type="application/json"
    )
    assert response.status_code == 422
    body = response.json()["error"]
    assert body["code"] == "invalid" and body["details"]


def test_throttled_second_factor_does_not_reveal_the_password(user: User) -> None:
    device = TOTPDevice.objects.get(user=user)
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_count=5, throttling_failure_timestamp=timezone.now()
    )
    right = get_token(Client(), user)
    wrong = get_token(Client(), user, password="wrong password 12345")
    assert right.status_code == wrong.status_code == 401
    assert right.json()["error"]["message"] == wrong.json()["error"]["message"]
