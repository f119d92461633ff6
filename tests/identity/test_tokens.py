"""Personal API tokens: made from a verified session, shown once, stored hashed, listed,
revoked, expiring, and narrowed by their scope on every route, with everything audited."""

from __future__ import annotations

import hashlib
import re
import time
from datetime import timedelta
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from cohortvault.access.policy import Role
from cohortvault.audit.models import AuditEntry
from cohortvault.consortium.models import Project
from cohortvault.errors import Invalid, NotFound, PermissionDenied
from cohortvault.identity import tokens
from cohortvault.identity.models import ApiToken, User
from cohortvault.web.freshness import VERIFIED_AT
from tests import factories

pytestmark = pytest.mark.django_db

API = "/api/v1"


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def make_token(user: User, scope: str = "full", **kwargs: Any) -> str:
    return tokens.create_token(user, name=f"{scope} script", scope=scope, **kwargs).token


def login_token(user: User) -> str:
    device = TOTPDevice.objects.get(user=user)
    response = Client().post(
        f"{API}/auth/token",
        {
            "username": user.username,
            "password": factories.PASSWORD,
            "otp": factories.code_for(device),
        },
        content_type="application/json",
    )
    assert response.status_code == 200
    return str(response.json()["token"])


def put(client: Client, path: str, data: bytes, **headers: str):  # type: ignore[no-untyped-def]
    return client.put(
        f"{API}/files/{path}", data, content_type="application/octet-stream", **headers
    )


def body(response) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join(response.streaming_content)


def entries(action: str, **filters: Any) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, **filters))


@pytest.fixture
def member(site, project) -> User:  # type: ignore[no-untyped-def]
    """oslo1: member of site oslo and of project alpha; project beta exists too."""
    user = factories.make_user("oslo1")
    factories.enrol_totp(user)
    factories.grant(user, Role.SITE_MEMBER, site=site)
    factories.grant(user, Role.PROJECT_MEMBER, project=project)
    factories.make_project("beta")
    return user


# --- the service -----------------------------------------------------------------------------


def test_secret_is_returned_once_and_only_its_hash_is_stored(user: User) -> None:
    issued = tokens.create_token(user, name="  nightly   report ", scope="read_only")
    assert issued.token.startswith("cv1_") and len(issued.token) > 40
    row = ApiToken.objects.get(pk=issued.info.id)
    assert row.token_hash == hashlib.sha256(issued.token.encode()).hexdigest()
    assert issued.token not in {row.prefix, row.token_hash, row.name}
    assert issued.token.startswith(row.prefix)
    assert (row.kind, row.scope, row.name) == ("personal", "read_only", "nightly report")
    assert "token" not in vars(issued.info)
    assert all(issued.token not in repr(info) for info in tokens.list_tokens(user))
    (entry,) = entries("token.issue")
    assert entry.actor == "plain" and entry.outcome == "ok"
    assert entry.details["kind"] == "personal" and entry.details["scope"] == "read_only"
    assert issued.token not in str(entry.content())


def test_default_and_maximum_lifetime(user: User, settings: Any) -> None:
    start = timezone.now()
    default = tokens.create_token(user, name="a", scope="full").info
    assert timedelta(days=30) <= default.expires_at - start < timedelta(days=30, minutes=1)
    settings.COHORTVAULT_TOKEN_DEFAULT_DAYS = 7
    settings.COHORTVAULT_TOKEN_MAX_DAYS = 90
    seven = tokens.create_token(user, name="b", scope="full").info
    assert timedelta(days=7) <= seven.expires_at - start < timedelta(days=7, minutes=1)
    longest = tokens.create_token(user, name="c", scope="full", days=90).info
    assert timedelta(days=90) <= longest.expires_at - start < timedelta(days=90, minutes=1)
    with pytest.raises(Invalid, match="at most 90 days"):
        tokens.create_token(user, name="d", scope="full", days=91)
    with pytest.raises(Invalid, match="at least one day"):
        tokens.create_token(user, name="e", scope="full", days=0)
    assert ApiToken.objects.filter(user=user).count() == 3


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "  ", "scope": "full"}, "name"),
        ({"name": "x" * 101, "scope": "full"}, "at most 100"),
        ({"name": "x", "scope": "admin"}, "Unknown scope"),
        ({"name": "x", "scope": "project"}, "Choose the project"),
        ({"name": "x", "scope": "read_only", "project": "alpha"}, "Only a project-scoped"),
    ],
)
def test_bad_input_is_refused(user: User, project: Project, fields: Any, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        tokens.create_token(user, **fields)
    assert not ApiToken.objects.exists()


def test_project_scope_needs_a_project_the_user_works_in(member: User, data_manager: User) -> None:
    issued = tokens.create_token(member, name="alpha", scope="project", project="alpha")
    assert (issued.info.scope, issued.info.project) == ("project", "alpha")
    assert entries("token.issue")[0].details["project"] == "alpha"
    with pytest.raises(Invalid, match="only for a project you work in"):
        tokens.create_token(member, name="beta", scope="project", project="beta")
    (denied,) = entries("token.issue", outcome="denied")
    assert denied.actor == "oslo1" and "beta" in denied.reason
    # the data manager may scope a token to any project
    assert tokens.create_token(data_manager, name="b", scope="project", project="beta").token
    with pytest.raises(Invalid):
        tokens.create_token(data_manager, name="n", scope="project", project="nowhere")


def test_list_and_revoke_own_tokens(user: User, site_member: User) -> None:
    live = tokens.create_token(user, name="live", scope="read_only").info
    gone = tokens.create_token(user, name="gone", scope="full").info
    old = tokens.create_token(user, name="old", scope="aggregate").info
    ApiToken.objects.filter(pk=old.id).update(expires_at=timezone.now() - timedelta(days=1))
    login_token(user)
    TOTPDevice.objects.filter(user=user).update(last_t=-1)
    ended_login = login_token(user)
    ApiToken.objects.filter(token_hash=hashlib.sha256(ended_login.encode()).hexdigest()).update(
        expires_at=timezone.now()
    )
    revoked = tokens.revoke(user, gone.id)
    assert revoked.state == "revoked" and revoked.revoked_at is not None
    listed = tokens.list_tokens(user)
    assert [(t.name, t.kind, t.state) for t in listed] == [
        ("login", "login", "live"),
        ("old", "personal", "expired"),
        ("gone", "personal", "revoked"),
        ("live", "personal", "live"),
    ]
    (entry,) = entries("token.revoke")
    assert entry.actor == "plain" and entry.details["name"] == "gone"
    # revoking again changes nothing and records nothing new
    assert tokens.revoke(user, gone.id).revoked_at == revoked.revoked_at
    assert len(entries("token.revoke")) == 1
    # another user's token answers "not found", and the attempt is audited
    with pytest.raises(NotFound):
        tokens.revoke(site_member, live.id)
    with pytest.raises(NotFound):
        tokens.revoke(user, 987654)
    assert ApiToken.objects.get(pk=live.id).revoked_at is None
    denied = entries("token.revoke", outcome="denied")
    assert [e.actor for e in denied] == ["oslo1", "plain"]
    assert tokens.list_tokens(site_member) == []


def test_a_token_cannot_mint_tokens_through_the_service(user: User) -> None:
    credential = ApiToken.objects.get(pk=tokens.create_token(user, name="a", scope="full").info.id)
    with pytest.raises(PermissionDenied):
        tokens.create_token(user, name="child", scope="full", credential=credential)
    assert ApiToken.objects.count() == 1
    assert entries("token.issue", outcome="denied")[0].actor == "plain"


# --- the API ---------------------------------------------------------------------------------


def test_api_create_list_and_revoke_with_a_session(user: User) -> None:
    session = factories.signed_in_client(user)
    created = session.post(
        f"{API}/tokens",
        {"name": "R report", "scope": "read_only", "days": 10},
        content_type="application/json",
    )
    assert created.status_code == 201
    made = created.json()
    secret = made["token"]
    assert secret.startswith(made["prefix"]) and made["state"] == "live"
    assert (made["scope"], made["kind"], made["name"]) == ("read_only", "personal", "R report")
    listed = session.get(f"{API}/tokens").json()
    assert [t["name"] for t in listed] == ["R report"]
    assert "token" not in listed[0] and secret not in str(listed)
    assert listed[0]["last_used_at"] is None
    assert Client().get(f"{API}/me", **bearer(secret)).status_code == 200
    assert session.get(f"{API}/tokens").json()[0]["last_used_at"] is not None
    revoked = session.delete(f"{API}/tokens/{made['id']}")
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert Client().get(f"{API}/me", **bearer(secret)).status_code == 401


def test_api_create_with_a_session_needs_the_csrf_token(user: User) -> None:
    session = factories.signed_in_client(user, enforce_csrf_checks=True)
    payload = {"name": "x", "scope": "full"}
    refused = session.post(f"{API}/tokens", payload, content_type="application/json")
    assert refused.status_code == 403
    session.get("/account/tokens/")
    csrf = session.cookies["csrftoken"].value
    accepted = session.post(
        f"{API}/tokens", payload, content_type="application/json", HTTP_X_CSRFTOKEN=csrf
    )
    assert accepted.status_code == 201
    assert ApiToken.objects.count() == 1


def test_api_create_errors_use_the_error_shape(user: User, settings: Any) -> None:
    settings.COHORTVAULT_TOKEN_MAX_DAYS = 60
    session = factories.signed_in_client(user)
    response = session.post(
        f"{API}/tokens", {"name": "x", "scope": "full", "days": 61}, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["error"]["message"] == "A token may live at most 60 days."
    response = session.post(f"{API}/tokens", {"name": "x"}, content_type="application/json")
    assert response.status_code == 422 and response.json()["error"]["details"]


@pytest.mark.parametrize("kind", ["login", "personal"])
def test_bearer_callers_cannot_create_tokens(user: User, kind: str) -> None:
    token = login_token(user) if kind == "login" else make_token(user)
    before = ApiToken.objects.count()
    response = Client().post(
        f"{API}/tokens",
        {"name": "child", "scope": "full"},
        content_type="application/json",
        **bearer(token),
    )
    assert response.status_code == 403
    assert "browser session" in response.json()["error"]["message"]
    assert ApiToken.objects.count() == before
    (denied,) = entries("token.issue", outcome="denied")
    assert denied.actor == "plain" and denied.channel == "api"


def test_expired_revoked_and_used_tokens(user: User) -> None:
    token = make_token(user, "read_only")
    row = ApiToken.objects.get(user=user)
    assert row.last_used_at is None
    client = Client()
    assert client.get(f"{API}/tokens/current", **bearer(token)).status_code == 200
    row.refresh_from_db()
    assert row.last_used_at is not None
    ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get(f"{API}/me", **bearer(token))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    other = make_token(user, "full")
    assert client.get(f"{API}/me", **bearer(other)).status_code == 200
    tokens.revoke(user, ApiToken.objects.get(prefix=other[:10]).pk)
    assert client.get(f"{API}/me", **bearer(other)).status_code == 401


@pytest.mark.parametrize("scope", ["full", "read_only", "project", "aggregate"])
def test_me_and_current_token_work_for_every_scope(member: User, scope: str) -> None:
    token = make_token(member, scope, project="alpha" if scope == "project" else "", days=5)
    client = Client()
    assert client.get(f"{API}/me", **bearer(token)).json()["username"] == "oslo1"
    current = client.get(f"{API}/tokens/current", **bearer(token)).json()
    assert current["scope"] == scope and current["name"] == f"{scope} script"
    assert current["project"] == ("alpha" if scope == "project" else "")
    assert current["kind"] == "personal" and current["expires_at"]


def test_current_token_of_a_login_token_and_of_a_session(user: User) -> None:
    current = Client().get(f"{API}/tokens/current", **bearer(login_token(user))).json()
    assert (current["kind"], current["scope"]) == ("login", "full")
    session = factories.signed_in_client(user)
    assert session.get(f"{API}/tokens/current").status_code == 404


def test_scoped_tokens_do_not_manage_tokens(member: User) -> None:
    client = Client()
    full = make_token(member, "full")
    read_only = make_token(member, "read_only")
    project = make_token(member, "project", project="alpha")
    aggregate = make_token(member, "aggregate")
    ids = {t.name.split()[0]: t.id for t in tokens.list_tokens(member)}
    assert len(client.get(f"{API}/tokens", **bearer(read_only)).json()) == 4
    assert client.get(f"{API}/tokens", **bearer(project)).status_code == 403
    assert client.get(f"{API}/tokens", **bearer(aggregate)).status_code == 403
    assert client.delete(f"{API}/tokens/{ids['full']}", **bearer(read_only)).status_code == 403
    assert len(entries("token.list", outcome="denied")) == 2
    assert len(entries("token.revoke", outcome="denied")) == 1
    # every token may give itself up; a full one may revoke the others
    assert client.delete(f"{API}/tokens/{ids['aggregate']}", **bearer(aggregate)).status_code == 200
    assert client.delete(f"{API}/tokens/{ids['project']}", **bearer(full)).status_code == 200
    assert client.get(f"{API}/me", **bearer(project)).status_code == 401


def test_another_users_token_is_not_found_through_the_api(user: User, site_member: User) -> None:
    theirs = tokens.create_token(site_member, name="theirs", scope="full").info.id
    response = factories.signed_in_client(user).delete(f"{API}/tokens/{theirs}")
    assert response.status_code == 404
    assert ApiToken.objects.get(pk=theirs).revoked_at is None
    assert factories.signed_in_client(user).get(f"{API}/tokens").json() == []


# --- scopes, end to end through the file API -------------------------------------------------


def test_login_tokens_keep_full_scope(member: User) -> None:
    token = login_token(member)
    assert put(Client(), "sites/oslo/import/a.csv", b"1", **bearer(token)).status_code == 201


def test_read_only_token_lists_and_reads_but_cannot_change(member: User) -> None:
    assert (
        put(factories.signed_in_client(member), "sites/oslo/import/a.csv", b"a,b").status_code
        == 201
    )
    client, auth = Client(), bearer(make_token(member, "read_only"))
    assert body(client.get(f"{API}/files/sites/oslo/import/a.csv", **auth)) == b"a,b"
    listing = client.get(f"{API}/list/sites/oslo/import", **auth).json()
    assert [e["name"] for e in listing["entries"]] == ["a.csv"]
    assert client.get(f"{API}/list/projects/alpha", **auth).status_code == 200
    assert put(client, "sites/oslo/import/b.csv", b"x", **auth).status_code == 403
    assert put(client, "home/oslo1/b.csv", b"x", **auth).status_code == 403
    assert client.delete(f"{API}/files/sites/oslo/import/a.csv", **auth).status_code == 403
    assert client.get(f"{API}/files/sites/oslo/import/a.csv", **auth).status_code == 200
    denied = entries("access.write", outcome="denied") + entries("access.delete", outcome="denied")
    assert len(denied) == 3 and {e.actor for e in denied} == {"oslo1"}
    assert all("read-only" in e.reason and e.channel == "api" for e in denied)
    assert entries("files.read", actor="oslo1")


def test_project_token_reaches_its_project_area_only(member: User, dpo: User) -> None:
    session = factories.signed_in_client(member)
    assert put(session, "sites/oslo/import/site.csv", b"s").status_code == 201
    client, auth = Client(), bearer(make_token(member, "project", project="alpha"))
    assert put(client, "projects/alpha/analysis/model.R", b"lm()", **auth).status_code == 201
    assert body(client.get(f"{API}/files/projects/alpha/analysis/model.R", **auth)) == b"lm()"
    assert client.get(f"{API}/list/projects/alpha/analysis", **auth).status_code == 200
    assert client.delete(f"{API}/files/projects/alpha/analysis/model.R", **auth).status_code == 200
    for path in ("projects/beta", "sites/oslo/import", "sites/oslo/data", "home/oslo1", "logs"):
        assert client.get(f"{API}/list/{path}", **auth).status_code == 404, path
        assert put(client, f"{path}/x.csv", b"x", **auth).status_code == 404, path
    assert client.get(f"{API}/files/sites/oslo/import/site.csv", **auth).status_code == 404
    denied = entries("access.list", outcome="denied")
    assert len(denied) == 5 and {e.actor for e in denied} == {"oslo1"}
    # a DPO's project token does not reach the audit trail either
    factories.grant(dpo, Role.PROJECT_MEMBER, project=Project.objects.get(code="alpha"))
    dpo_auth = bearer(make_token(dpo, "project", project="alpha"))
    assert client.get(f"{API}/audit", **dpo_auth).status_code == 403
    assert entries("access.read", outcome="denied", actor="dpo1", target="audit_trail")


def test_project_token_reaches_nothing_once_its_user_leaves_the_project(member: User) -> None:
    client, auth = Client(), bearer(make_token(member, "project", project="alpha"))
    assert put(client, "projects/alpha/a.csv", b"1", **auth).status_code == 201
    member.memberships.filter(group__project__code="alpha").update(ended_at=timezone.now())
    assert client.get(f"{API}/files/projects/alpha/a.csv", **auth).status_code == 404
    assert put(client, "projects/alpha/b.csv", b"2", **auth).status_code == 404
    assert client.get(f"{API}/me", **auth).json()["projects"] == []
    assert entries("access.read", outcome="denied", actor="oslo1")


def test_aggregate_token_reads_no_files_nor_the_audit_trail(dpo: User, site) -> None:  # type: ignore[no-untyped-def]
    factories.grant(dpo, Role.SITE_MEMBER, site=site)
    session = factories.signed_in_client(dpo)
    assert put(session, "sites/oslo/import/a.csv", b"1").status_code == 201
    assert session.get(f"{API}/audit").status_code == 200
    client, auth = Client(), bearer(make_token(dpo, "aggregate"))
    assert client.get(f"{API}/files/sites/oslo/import/a.csv", **auth).status_code == 404
    assert client.get(f"{API}/list/sites/oslo/import", **auth).status_code == 404
    assert client.get(f"{API}/list/home/dpo1", **auth).status_code == 404
    assert put(client, "home/dpo1/x.csv", b"x", **auth).status_code == 404
    assert client.get(f"{API}/audit", **auth).status_code == 403
    me = client.get(f"{API}/me", **auth).json()
    assert me["username"] == "dpo1" and me["areas"] == []
    denied = AuditEntry.objects.filter(outcome="denied", actor="dpo1")
    assert denied.count() == 5
    assert all("aggregate-only" in e.reason for e in denied)
    # a full-scope token of the same user still reads the trail: the scope did the refusing
    assert client.get(f"{API}/audit", **bearer(make_token(dpo, "full"))).status_code == 200


# --- pages -----------------------------------------------------------------------------------


def test_pages_create_show_the_secret_once_and_revoke(member: User) -> None:
    session = factories.signed_in_client(member)
    page = session.get("/account/tokens/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "You have no API tokens yet." in html and 'value="30"' in html
    assert 'value="alpha"' in html and 'value="beta"' not in html
    shown = session.post(
        "/account/tokens/new/",
        {"name": "alpha analysis", "days": "14", "scope": "project", "project": "alpha"},
    )
    assert shown.status_code == 200 and shown["Cache-Control"] == "no-store"
    row = ApiToken.objects.get(user=member)
    secret = shown.content.decode().split('id="token-secret"')[1].split(">")[1].split("<")[0]
    assert (
        secret.startswith("cv1_") and row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    )
    assert (row.scope, row.scope_project, row.kind) == ("project", "alpha", "personal")
    assert timedelta(days=13, hours=23) < row.expires_at - timezone.now() <= timedelta(days=14)
    listed = session.get("/account/tokens/").content.decode()
    assert secret not in listed and f"{row.prefix}…" in listed and "project alpha" in listed
    assert "never" in listed
    assert Client().get(f"{API}/me", **bearer(secret)).status_code == 200
    revoked = session.post(f"/account/tokens/{row.pk}/revoke/", {"next": "/account/security/"})
    assert revoked.status_code == 302 and revoked.url == "/account/security/"
    assert Client().get(f"{API}/me", **bearer(secret)).status_code == 401
    after = session.get("/account/tokens/").content.decode()
    assert "revoked" in after and "is revoked" in after
    security = session.get("/account/security/").content.decode()
    assert 'id="api-tokens"' in security and "alpha analysis" in security
    assert [e.details["scope"] for e in entries("token.issue")] == ["project"]
    assert entries("token.revoke")[0].channel == "web"


def test_page_shows_errors_and_creates_nothing(member: User, settings: Any) -> None:
    settings.COHORTVAULT_TOKEN_MAX_DAYS = 20
    session = factories.signed_in_client(member)
    response = session.post("/account/tokens/new/", {"name": "x", "days": "21", "scope": "full"})
    assert response.status_code == 200
    assert "A token may live at most 20 days." in response.content.decode()
    assert 'value="21"' in response.content.decode()
    response = session.post(
        "/account/tokens/new/", {"name": "x", "days": "5", "scope": "project", "project": "beta"}
    )
    assert "only for a project you work in" in response.content.decode()
    response = session.post("/account/tokens/new/", {"name": "", "days": "x", "scope": "full"})
    assert response.content.decode().count('role="alert"') == 2
    assert not ApiToken.objects.exists()


def test_pages_refuse_other_users_tokens_and_bearer_callers(user: User, site_member: User) -> None:
    theirs = tokens.create_token(site_member, name="theirs", scope="full")
    session = factories.signed_in_client(user)
    assert session.post(f"/account/tokens/{theirs.info.id}/revoke/").status_code == 404
    assert ApiToken.objects.get(pk=theirs.info.id).revoked_at is None
    # pages know nothing of bearer tokens: a token holder is sent to sign in
    bare = Client()
    response = bare.post(
        "/account/tokens/new/", {"name": "x", "days": "5", "scope": "full"}, **bearer(theirs.token)
    )
    assert response.status_code == 302 and response.url.startswith("/login/")
    assert bare.get("/account/tokens/", **bearer(theirs.token)).status_code == 302
    assert ApiToken.objects.count() == 1
    # a session that gave only its password reaches no token page
    password_only = Client()
    password_only.post("/login/", {"username": "plain", "password": factories.PASSWORD})
    assert password_only.get("/account/tokens/").url.startswith("/login/verify/")


def test_partial_renders_from_the_documented_context(member: User) -> None:
    tokens.create_token(member, name="listed", scope="aggregate")
    request = RequestFactory().get("/account/security/")
    request.user = member
    html = render_to_string(
        "identity/_tokens.html", {"tokens": tokens.security_overview(member)}, request=request
    )
    assert "listed" in html and "aggregate" in html and "never" in html
    assert 'action="/account/tokens/new/"' in html and "csrfmiddlewaretoken" in html
    assert "/revoke/" in html and 'value="/account/security/"' in html
    assert "style=" not in html and "<script" not in html
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers (strict CSP)


def test_a_stale_session_must_confirm_its_second_factor_first(user: User) -> None:
    session = factories.signed_in_client(user)
    stored = session.session
    stored[VERIFIED_AT] = time.time() - 3600
    stored.save()
    page = session.post(
        "/account/tokens/new/",
        {"name": "x", "days": "5", "scope": "full"},
        HTTP_REFERER="http://testserver/account/security/",
    )
    assert page.status_code == 302
    assert page.url == "/account/reauthenticate/?next=%2Faccount%2Fsecurity%2F"
    api = session.post(
        f"{API}/tokens", {"name": "x", "scope": "full"}, content_type="application/json"
    )
    assert api.status_code == 403 and "Confirm it is you" in api.json()["error"]["message"]
    assert not ApiToken.objects.exists()
    (denied,) = entries("token.issue", outcome="denied")
    assert "not recent" in denied.reason
