"""Web sessions: idle timeout, absolute lifetime, and disabled users thrown out at once."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.urls import reverse

from cohortvault.audit.models import AuditEntry
from cohortvault.identity.models import User
from cohortvault.web.middleware import LAST_SEEN, LOGIN_AT
from tests import factories

pytestmark = pytest.mark.django_db

DASHBOARD = "/"


def age_session(client, *, login_ago: float, seen_ago: float) -> None:
    session = client.session
    now = time.time()
    session[LOGIN_AT] = now - login_ago
    session[LAST_SEEN] = now - seen_ago
    session.save()


def test_active_session_is_kept(user: User) -> None:
    client = factories.signed_in_client(user)
    age_session(client, login_ago=60, seen_ago=10)
    assert client.get(DASHBOARD).status_code == 200


def test_idle_session_ends(user: User) -> None:
    client = factories.signed_in_client(user)
    age_session(
        client,
        login_ago=settings.SESSION_COOKIE_AGE + 100,
        seen_ago=settings.SESSION_COOKIE_AGE + 1,
    )
    response = client.get(DASHBOARD)
    assert response.status_code == 302 and response.url.startswith(reverse("identity:login"))
    entry = AuditEntry.objects.get(action="session.expired", actor="plain")
    assert "idle" in entry.reason


def test_session_ends_after_its_absolute_lifetime_however_active(user: User) -> None:
    client = factories.signed_in_client(user)
    age_session(client, login_ago=settings.SESSION_MAX_AGE + 1, seen_ago=1)
    assert client.get(DASHBOARD).status_code == 302
    assert "maximum lifetime" in AuditEntry.objects.get(action="session.expired").reason


def test_disabled_user_is_out_at_the_next_request(user: User) -> None:
    client = factories.signed_in_client(user)
    assert client.get(DASHBOARD).status_code == 200
    User.objects.filter(pk=user.pk).update(is_active=False)
    response = client.get(DASHBOARD)
    assert response.status_code == 302 and response.url.startswith(reverse("identity:login"))
    assert client.get("/api/v1/me").status_code == 401


def test_session_cookie_flags(user: User) -> None:
    client = factories.signed_in_client(user)
    response = client.post(
        reverse("identity:login"), {"username": "plain", "password": factories.PASSWORD}
    )
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_session_lifetime_also_binds_api_calls_made_with_the_session(user: User) -> None:
    client = factories.signed_in_client(user)
    assert client.get("/api/v1/me").status_code == 200
    age_session(client, login_ago=settings.SESSION_MAX_AGE + 1, seen_ago=1)
    assert client.get("/api/v1/me").status_code == 401
