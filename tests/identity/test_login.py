"""Signing in on the web: password, then a one-time code; enrolment before anything else."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from cohortvault.audit.models import AuditEntry
from cohortvault.identity.models import RecoveryCode, RecoveryCodeDevice, User
from tests import factories

pytestmark = pytest.mark.django_db


def post_password(client: Client, username: str, password: str = factories.PASSWORD):
    return client.post(reverse("identity:login"), {"username": username, "password": password})


def test_password_hashes_are_argon2(user: User) -> None:
    assert user.password.startswith("argon2")


def test_full_login_with_totp(user: User) -> None:
    device = TOTPDevice.objects.get(user=user)
    client = Client()
    response = post_password(client, "plain")
    assert response.status_code == 302 and response.url == reverse("identity:verify")
    # half-signed-in: the dashboard is not reachable yet
    assert client.get(reverse("consortium:dashboard")).url == reverse("identity:verify")
    response = client.post(reverse("identity:verify"), {"code": factories.code_for(device)})
    assert response.status_code == 302 and response.url == reverse("consortium:dashboard")
    page = client.get(reverse("consortium:dashboard"))
    assert page.status_code == 200 and b"Areas I can reach" in page.content
    actions = list(AuditEntry.objects.filter(actor="plain").values_list("action", "outcome"))
    assert ("login.password", "ok") in actions and ("login.second_factor", "ok") in actions


def test_session_key_changes_at_each_login_step(user: User) -> None:
    device = TOTPDevice.objects.get(user=user)
    client = Client()
    client.get(reverse("identity:login"))
    post_password(client, "plain")
    after_password = client.session.session_key
    client.post(reverse("identity:verify"), {"code": factories.code_for(device)})
    assert client.session.session_key != after_password


def test_unknown_user_and_wrong_password_look_the_same(user: User) -> None:
    unknown = post_password(Client(), "nobody-here", "whatever password 1")
    wrong = post_password(Client(), "plain", "wrong password 123")
    assert unknown.status_code == wrong.status_code == 200

    def message(html: bytes) -> str:
        return re.search(r'role="alert">([^<]*)<', html.decode()).group(1)  # type: ignore[union-attr]

    assert message(unknown.content) == message(wrong.content)
    assert unknown.content.replace(b"nobody-here", b"X") == wrong.content.replace(
        b"plain", b"X"
    ) or (_strip_tokens(unknown.content, "nobody-here") == _strip_tokens(wrong.content, "plain"))
    failed = AuditEntry.objects.filter(action="login.failed").values_list("actor", flat=True)
    assert set(failed) == {"nobody-here", "plain"}


def _strip_tokens(html: bytes, username: str) -> str:
    text = html.decode().replace(username, "USER")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)


def test_disabled_user_cannot_sign_in(user: User) -> None:
    user.is_active = False
    user.save()
    response = post_password(Client(), "plain")
    assert response.status_code == 200 and b"Invalid username" in response.content


def test_totp_code_cannot_be_replayed(user: User) -> None:
    device = TOTPDevice.objects.get(user=user)
    code = factories.code_for(device)
    first = Client()
    post_password(first, "plain")
    assert first.post(reverse("identity:verify"), {"code": code}).status_code == 302
    second = Client()
    post_password(second, "plain")
    replay = second.post(reverse("identity:verify"), {"code": code})
    assert replay.status_code == 200 and b"not valid" in replay.content
    assert second.get(reverse("consortium:dashboard")).status_code == 302


def test_repeated_wrong_codes_throttle_even_the_right_one(user: User) -> None:
    device = TOTPDevice.objects.get(user=user)
    client = Client()
    post_password(client, "plain")
    for _ in range(3):
        client.post(reverse("identity:verify"), {"code": "000000"})
    response = client.post(reverse("identity:verify"), {"code": factories.code_for(device)})
    assert response.status_code == 200 and b"Too many wrong codes" in response.content
    device.refresh_from_db()
    assert device.throttling_failure_count >= 1
    assert AuditEntry.objects.filter(
        action="login.second_factor", outcome="failed", reason__contains="throttled"
    ).exists()


def test_code_from_another_time_step_is_refused(user: User) -> None:
    device = TOTPDevice.objects.get(user=user)
    client = Client()
    post_password(client, "plain")
    old = factories.code_for(device, at=time.time() - 600)
    assert client.post(reverse("identity:verify"), {"code": old}).status_code == 200


def test_new_user_must_enrol_before_anything_else() -> None:
    factories.make_user("newbie")
    client = Client()
    response = post_password(client, "newbie")
    assert response.url == reverse("identity:enrol")
    for name in ("consortium:dashboard", "identity:security", "audit:trail"):
        assert client.get(reverse(name)).url == reverse("identity:enrol")
    assert client.get("/admin/").url == reverse("identity:enrol")
    assert client.get("/api/v1/me").status_code == 401
    page = client.get(reverse("identity:enrol"))
    assert page.status_code == 200 and b"data:image/svg+xml" in page.content
    device = TOTPDevice.objects.get(user__username="newbie", confirmed=False)
    secret = re.search(rb'id="totp-secret">([A-Z2-7]+)<', page.content).group(1).decode()  # type: ignore[union-attr]
    from cohortvault.demo import current_code

    response = client.post(
        reverse("identity:enrol"),
        {"device_id": device.pk, "code": current_code(secret), "name": "my phone"},
    )
    assert response.status_code == 200 and b"Recovery codes" in response.content
    codes = re.findall(
        rb"<code>([0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4})</code>", response.content
    )
    assert len(codes) == 10
    stored = RecoveryCode.objects.filter(device__user__username="newbie")
    assert stored.count() == 10
    assert all(code.decode() not in {s.code_hash for s in stored} for code in codes)
    assert client.get(reverse("consortium:dashboard")).status_code == 200
    assert AuditEntry.objects.filter(action="factor.enrol", actor="newbie", outcome="ok").exists()


def test_wrong_enrolment_code_does_not_confirm() -> None:
    factories.make_user("newbie")
    client = Client()
    post_password(client, "newbie")
    client.get(reverse("identity:enrol"))
    device = TOTPDevice.objects.get(user__username="newbie")
    response = client.post(reverse("identity:enrol"), {"device_id": device.pk, "code": "123456"})
    assert response.status_code == 200 and b"not valid" in response.content
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get(reverse("consortium:dashboard")).url == reverse("identity:enrol")


def test_verified_user_cannot_skip_to_enrol_a_replacement_without_verification(user: User) -> None:
    client = Client()
    post_password(client, "plain")
    assert client.get(reverse("identity:enrol")).url == reverse("identity:verify")


def test_recovery_code_works_once(user: User) -> None:
    from cohortvault.identity.services import regenerate_recovery_codes

    codes = regenerate_recovery_codes(user)
    client = Client()
    post_password(client, "plain")
    assert client.post(reverse("identity:verify"), {"code": codes[0].lower()}).status_code == 302
    again = Client()
    post_password(again, "plain")
    assert again.post(reverse("identity:verify"), {"code": codes[0]}).status_code == 200
    # the failure throttles the device for a second; let that pass
    RecoveryCodeDevice.objects.filter(user=user).update(
        throttling_failure_timestamp=timezone.now() - timedelta(seconds=5)
    )
    assert again.post(reverse("identity:verify"), {"code": codes[1]}).status_code == 302


def test_next_parameter_is_kept_but_never_leaves_the_site(user: User) -> None:
    device = TOTPDevice.objects.get(user=user)
    client = Client()
    client.post(
        reverse("identity:login") + "?next=/account/security/",
        {"username": "plain", "password": factories.PASSWORD, "next": "/account/security/"},
    )
    response = client.post(reverse("identity:verify"), {"code": factories.code_for(device)})
    assert response.url == "/account/security/"
    evil = Client()
    evil.post(
        reverse("identity:login"),
        {"username": "plain", "password": factories.PASSWORD, "next": "https://evil.example/"},
    )
    device.refresh_from_db()
    response = evil.post(
        reverse("identity:verify"), {"code": factories.code_for(device, at=time.time() + 30)}
    )
    assert response.url == reverse("consortium:dashboard")


def test_logout_ends_the_session(user: User) -> None:
    client = factories.signed_in_client(user)
    assert client.get(reverse("consortium:dashboard")).status_code == 200
    client.post(reverse("identity:logout"))
    assert client.get(reverse("consortium:dashboard")).status_code == 302
    assert AuditEntry.objects.filter(action="logout", actor="plain").exists()


@pytest.mark.parametrize("username", ["plain", "no-such-user"])
def test_repeated_failed_passwords_lock_the_username_for_a_while(
    user: User, settings, username: str
) -> None:
    settings.COHORTVAULT_LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        post_password(Client(), username, "wrong password 12345")
    response = post_password(Client(), username, factories.PASSWORD)
    assert response.status_code == 200 and b"Too many failed sign-ins" in response.content
    assert AuditEntry.objects.filter(action="login.throttled", actor=username).exists()
    settings.COHORTVAULT_LOGIN_FAILURE_WINDOW = 0  # the failures age out of the window
    if username == "plain":
        assert post_password(Client(), "plain").status_code == 302
