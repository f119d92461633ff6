"""Security headers, CSRF, the error shape with request ids, and the default-deny gate."""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import path

from cohortvault.identity.models import User
from cohortvault.urls import urlpatterns as real_urlpatterns
from cohortvault.web.middleware import AccessGateMiddleware
from tests import factories

pytestmark = pytest.mark.django_db


def test_security_headers_on_pages() -> None:
    response = Client().get("/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    csp = response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "same-origin"
    assert len(response["X-Request-ID"]) == 32


def test_static_files_are_served_and_cacheable() -> None:
    response = Client().get("/static/cohortvault/site.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
    assert b"--accent" in b"".join(response.streaming_content)  # type: ignore[attr-defined]
    response.close()


@override_settings(SESSION_COOKIE_SECURE=True, CSRF_COOKIE_SECURE=True)
def test_cookies_are_secure_when_served_over_tls(user: User) -> None:
    client = Client()
    response = client.get("/login/", secure=True)
    assert response.cookies["csrftoken"]["secure"]
    response = client.post(
        "/login/",
        {"username": "plain", "password": factories.PASSWORD},
        secure=True,
        HTTP_REFERER="https://testserver/login/",
    )
    assert response.cookies["cohortvault_session"]["secure"]


def test_cross_origin_post_is_refused(user: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.get("/login/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/login/",
        {"username": "plain", "password": factories.PASSWORD, "csrfmiddlewaretoken": token},
        HTTP_ORIGIN="https://evil.example",
    )
    assert response.status_code == 403
    assert b"Request id" in response.content
    assert not client.session.get("_auth_user_id")


def test_post_without_csrf_token_is_refused(user: User) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "plain", "password": factories.PASSWORD})
    assert response.status_code == 403


def test_same_origin_post_with_token_is_accepted(user: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.get("/login/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/login/",
        {"username": "plain", "password": factories.PASSWORD, "csrfmiddlewaretoken": token},
        HTTP_ORIGIN="http://testserver",
    )
    assert response.status_code == 302


def test_api_session_writes_need_csrf(user: User) -> None:
    client = factories.signed_in_client(user, enforce_csrf_checks=True)
    assert client.get("/api/v1/me").status_code == 200
    assert client.delete("/api/v1/auth/token").status_code in (401, 403)


def test_error_page_shows_the_request_id(user: User) -> None:
    client = factories.signed_in_client(user)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert response["X-Request-ID"].encode() in response.content


def test_api_errors_share_one_shape() -> None:
    response = Client().get("/api/v1/no-such-route")
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "not_found",
            "message": response.json()["error"]["message"],
            "request_id": response["X-Request-ID"],
        }
    }
    response = Client().get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_forbidden_looks_like_missing_for_concealed_objects(dpo: User, user: User) -> None:
    """A denied read of something concealed answers exactly like a missing one."""
    from cohortvault.access.guard import authorize
    from cohortvault.access.policy import Action, Area
    from cohortvault.errors import NotFound

    with pytest.raises(NotFound) as denied:
        authorize(factories.principal(user), Action.READ, Area.site_data("secret"), conceal=True)
    assert denied.value.message == NotFound().message


def _undeclared(request: HttpRequest) -> HttpResponse:
    return HttpResponse("should never be shown")


urlpatterns = [*real_urlpatterns, path("undeclared/", _undeclared)]


@override_settings(ROOT_URLCONF=__name__)
def test_views_that_declare_nothing_are_refused(user: User) -> None:
    client = factories.signed_in_client(user)
    response = client.get("/undeclared/")
    assert response.status_code == 403
    assert b"should never be shown" not in response.content


def test_gate_is_installed_last_so_it_sees_the_user() -> None:
    from django.conf import settings

    assert settings.MIDDLEWARE[-1].endswith(AccessGateMiddleware.__name__)


def test_client_address_comes_from_trusted_proxies_only(settings, user: User) -> None:
    from cohortvault.audit.models import AuditEntry

    settings.COHORTVAULT_TRUSTED_PROXIES = ["10.0.0.1"]
    for remote in ("10.0.0.1", "192.0.2.50"):
        Client(REMOTE_ADDR=remote).post(
            "/login/",
            {"username": f"from-{remote}", "password": "x" * 12},
            HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.4",
        )
    recorded = dict(
        AuditEntry.objects.filter(action="login.failed").values_list("actor", "client_ip")
    )
    assert recorded == {"from-10.0.0.1": "198.51.100.4", "from-192.0.2.50": "192.0.2.50"}
