"""Security keys (WebAuthn) beside one-time codes: enrol, name, use, revoke; re-authentication
before adding or removing a factor; the `require_security_key` setting.

The server side of the ceremonies is driven by ``SoftKey``, a software authenticator that signs
what a real key would (ES256, "none" attestation), so origins, challenges and signatures are
checked for real. The browser side is in tests/browser/test_security_keys.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client, RequestFactory
from django.urls import reverse
from django_otp_webauthn.models import WebAuthnCredential

from cohortvault.access.policy import Role
from cohortvault.audit.models import AuditEntry
from cohortvault.identity import security_keys
from cohortvault.identity.models import RecoveryCode, User
from cohortvault.identity.reauthentication import fresh_required, reauthentication_url
from cohortvault.identity.services import regenerate_recovery_codes as recovery_codes
from cohortvault.web.freshness import VERIFIED_AT, is_fresh
from tests import factories

pytestmark = pytest.mark.django_db

ORIGIN = "http://testserver"
BEGIN_REGISTRATION = "/webauthn/registration/begin/"
COMPLETE_REGISTRATION = "/webauthn/registration/complete/"
BEGIN_AUTHENTICATION = "/webauthn/authentication/begin/"
COMPLETE_AUTHENTICATION = "/webauthn/authentication/complete/"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


class SoftKey:
    """A software security key: one ES256 credential, answering like a FIDO2 authenticator."""

    def __init__(self) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = secrets.token_bytes(32)
        self.sign_count = 0

    def _cose_public_key(self) -> bytes:
        numbers = self.private_key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,  # kty: EC2
                3: -7,  # alg: ES256
                -1: 1,  # crv: P-256
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def register(self, options: dict[str, Any], *, origin: str = ORIGIN) -> dict[str, Any]:
        client_data = json.dumps(
            {"type": "webauthn.create", "challenge": options["challenge"], "origin": origin}
        ).encode()
        auth_data = (
            sha256(options["rp"]["id"].encode())
            + bytes([0x45])  # user present, user verified, attested credential data
            + (0).to_bytes(4, "big")
            + bytes(16)  # AAGUID
            + len(self.credential_id).to_bytes(2, "big")
            + self.credential_id
            + self._cose_public_key()
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["usb"],
            },
            "clientExtensionResults": {"credProps": {"rk": False}},
        }

    def answer(
        self, options: dict[str, Any], *, origin: str = ORIGIN, rp_id: str | None = None
    ) -> dict[str, Any]:
        self.sign_count += 1
        client_data = json.dumps(
            {"type": "webauthn.get", "challenge": options["challenge"], "origin": origin}
        ).encode()
        auth_data = (
            sha256((rp_id or options["rpId"]).encode())
            + bytes([0x05])  # user present, user verified
            + self.sign_count.to_bytes(4, "big")
        )
        signature = self.private_key.sign(
            auth_data + sha256(client_data), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
            },
            "clientExtensionResults": {},
        }


def post_json(client: Client, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, body or {}, content_type="application/json")


def enrol(client: Client, key: SoftKey, *, origin: str = ORIGIN) -> Any:
    options = post_json(client, BEGIN_REGISTRATION)
    assert options.status_code == 200, options.content
    return post_json(client, COMPLETE_REGISTRATION, key.register(options.json(), origin=origin))


def use(client: Client, key: SoftKey, *, origin: str = ORIGIN, next_url: str = "") -> Any:
    options = post_json(client, BEGIN_AUTHENTICATION)
    assert options.status_code == 200, options.content
    url = COMPLETE_AUTHENTICATION + (f"?next={next_url}" if next_url else "")
    return post_json(client, url, key.answer(options.json(), origin=origin))


def make_key(user: User, name: str = "blue key") -> WebAuthnCredential:
    """A stored key as a factory would make it (no ceremony)."""
    return WebAuthnCredential.objects.create(
        user=user,
        name=name,
        credential_id=secrets.token_bytes(32),
        public_key=b"unused",
        aaguid="00000000-0000-0000-0000-000000000000",
    )


def password_only(username: str) -> Client:
    client = Client()
    response = client.post(
        reverse("identity:login"), {"username": username, "password": factories.PASSWORD}
    )
    assert response.status_code == 302
    return client


def make_stale(client: Client) -> None:
    session = client.session
    session[VERIFIED_AT] = time.time() - 3600
    session.save()


def entries(action: str, **filters: Any) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, **filters).order_by("seq"))


# --- enrolling, naming, listing ------------------------------------------------------------


def test_enrol_a_key_name_it_and_see_it_listed(user: User) -> None:
    recovery_codes(user)  # had them already: adding a key makes no new ones
    client = factories.signed_in_client(user)
    page = client.get(reverse("identity:security-key-add"))
    assert page.status_code == 200
    assert b'id="passkey-register-button"' in page.content
    assert b'id="otp_webauthn_config" type="application/json"' in page.content
    assert b"<script>" not in page.content  # no inline code under the strict CSP

    response = enrol(client, SoftKey())
    assert response.status_code == 200, response.content
    key = WebAuthnCredential.objects.get(user=user)
    assert response.json() == {"id": key.pk}
    assert key.name == "Security key 1" and key.confirmed

    named = client.post(
        reverse("identity:security-key-added"), {"credential": key.pk, "name": "  YubiKey  5 "}
    )
    assert named.status_code == 302 and named.url == reverse("identity:security")
    key.refresh_from_db()
    assert key.name == "YubiKey 5"
    # only the key this session registered can be named through this door, and only once
    again = client.post(reverse("identity:security-key-added"), {"credential": key.pk, "name": "x"})
    assert again.url == reverse("identity:security-key-add")

    page = client.get(reverse("identity:security"))
    html = page.content.decode()
    assert 'value="YubiKey 5"' in html and "never" in html
    assert key.created_at.strftime("%Y-%m-%d") in html

    enrolled = entries("factor.enrol", actor="plain", outcome="ok")
    assert enrolled[-1].details == {"factor": "security_key", "device": "Security key 1"}
    renamed = entries("factor.rename", actor="plain")
    assert renamed[-1].details["device"] == "YubiKey 5"


def test_a_blank_name_keeps_the_numbered_one(user: User) -> None:
    recovery_codes(user)
    make_key(user, "older key")
    client = factories.signed_in_client(user)
    key_id = enrol(client, SoftKey()).json()["id"]
    response = client.post(
        reverse("identity:security-key-added"), {"credential": key_id, "name": "  "}
    )
    assert response.url == reverse("identity:security")
    assert WebAuthnCredential.objects.get(pk=key_id).name == "Security key 2"
    assert not entries("factor.rename")


def test_a_key_can_be_the_first_factor_and_brings_recovery_codes() -> None:
    factories.make_user("newbie")
    client = password_only("newbie")
    assert client.get(reverse("consortium:dashboard")).url == reverse("identity:enrol")
    assert b"Use the security key" in client.get(reverse("identity:enrol")).content
    assert client.get(reverse("identity:security-key-add")).status_code == 200
    key_id = enrol(client, SoftKey()).json()["id"]
    # the registration verified the session (with a new session key)
    assert client.get(reverse("consortium:dashboard")).status_code == 200
    page = client.post(
        reverse("identity:security-key-added"), {"credential": key_id, "name": "my key"}
    )
    assert page.status_code == 200 and b"Your security key is set up" in page.content
    assert RecoveryCode.objects.filter(device__user__username="newbie").count() == 10


def test_registration_needs_a_verified_session_when_the_user_has_a_factor(user: User) -> None:
    client = password_only("plain")
    assert client.get(reverse("identity:security-key-add")).url == reverse("identity:verify")
    refused = post_json(client, BEGIN_REGISTRATION)
    assert refused.status_code == 302 and refused.url == reverse("identity:verify")
    assert not WebAuthnCredential.objects.filter(user=user).exists()


def test_a_forged_registration_is_refused_and_audited(user: User) -> None:
    client = factories.signed_in_client(user)
    response = enrol(client, SoftKey(), origin="https://evil.example")
    assert response.status_code == 422
    assert "could not be registered" in response.json()["detail"]
    assert not WebAuthnCredential.objects.filter(user=user).exists()
    failed = entries("factor.enrol", actor="plain", outcome="failed")
    assert failed and "evil.example" in failed[-1].reason


def test_renaming_and_listing_through_the_service(user: User) -> None:
    first, second = make_key(user, "old"), make_key(user, "spare")
    assert [k.name for k in security_keys.security_keys(user)] == ["old", "spare"]
    security_keys.rename_security_key(user, first.pk, "office key")
    assert [k.name for k in security_keys.security_keys(user)] == ["office key", "spare"]
    with pytest.raises(security_keys.Invalid):
        security_keys.rename_security_key(user, second.pk, "   ")
    other = factories.make_user("other")
    with pytest.raises(security_keys.NotFound):
        security_keys.rename_security_key(other, first.pk, "mine now")


def test_rename_on_the_security_page(user: User) -> None:
    key = make_key(user)
    client = factories.signed_in_client(user)
    response = client.post(reverse("identity:security-key-rename", args=[key.pk]), {"name": "A"})
    assert response.url == reverse("identity:security")
    key.refresh_from_db()
    assert key.name == "A"
    stranger = factories.signed_in_client(factories.make_user("stranger"))
    refused = stranger.post(reverse("identity:security-key-rename", args=[key.pk]), {"name": "B"})
    assert refused.status_code == 404


# --- revoking ------------------------------------------------------------------------------


def test_revoke_a_key(user: User) -> None:
    key = make_key(user)
    client = factories.signed_in_client(user)
    response = client.post(reverse("identity:security-key-revoke", args=[key.pk]))
    assert response.url == reverse("identity:security")
    assert not WebAuthnCredential.objects.filter(pk=key.pk).exists()
    revoked = entries("factor.revoke", actor="plain")
    assert revoked[-1].details == {"factor": "security_key", "device": "blue key"}
    other = factories.signed_in_client(factories.make_user("other"))
    theirs = make_key(User.objects.get(username="plain"))
    assert other.post(reverse("identity:security-key-revoke", args=[theirs.pk])).status_code == 404


def test_the_last_second_factor_cannot_be_removed(user: User) -> None:
    client = factories.signed_in_client(user)
    totp = user.totpdevice_set.get()
    response = client.post(reverse("identity:authenticator-remove", args=[totp.pk]))
    assert response.url == reverse("identity:security")
    assert user.totpdevice_set.exists()
    page = client.get(reverse("identity:security"))
    assert b"only second factor" in page.content

    key = make_key(user)
    assert client.post(reverse("identity:authenticator-remove", args=[totp.pk])).status_code == 302
    assert not user.totpdevice_set.exists()
    assert entries("factor.revoke", actor="plain")[-1].details["factor"] == "totp"
    client.post(reverse("identity:security-key-revoke", args=[key.pk]))
    assert WebAuthnCredential.objects.filter(pk=key.pk).exists()


def test_a_revoked_key_no_longer_signs_in(user: User) -> None:
    soft = SoftKey()
    enrol(factories.signed_in_client(user), soft)
    key = WebAuthnCredential.objects.get(user=user)
    security_keys.revoke_security_key(user, key.pk)
    client = password_only("plain")
    assert b"Use a security key" not in client.get(reverse("identity:verify")).content
    refused = post_json(client, BEGIN_AUTHENTICATION)
    assert refused.status_code == 404
    assert client.get(reverse("consortium:dashboard")).url == reverse("identity:verify")


# --- signing in with a key -------------------------------------------------------------------


def test_sign_in_with_password_then_key(user: User) -> None:
    soft = SoftKey()
    enrol(factories.signed_in_client(user), soft)
    client = Client()
    client.post(
        reverse("identity:login") + "?next=/account/security/",
        {"username": "plain", "password": factories.PASSWORD, "next": "/account/security/"},
    )
    page = client.get(reverse("identity:verify"))
    assert b"Use a security key" in page.content and b"otp_webauthn_auth.js" in page.content
    before = client.session.session_key

    response = use(client, soft)
    assert response.status_code == 200, response.content
    assert response.json()["redirect_url"] == "/account/security/"
    assert client.session.session_key != before
    assert is_fresh(_request_with(client))
    assert client.get(reverse("consortium:dashboard")).status_code == 200
    key = WebAuthnCredential.objects.get(user=user)
    assert key.last_used_at is not None and key.sign_count == 1
    used = entries("login.second_factor", actor="plain", outcome="ok")
    assert used[-1].details == {"factor": "security_key", "device": "Security key 1"}


def _request_with(client: Client) -> Any:
    request = RequestFactory().get("/")
    request.session = client.session
    return request


def test_a_key_answering_for_another_origin_is_refused(user: User) -> None:
    soft = SoftKey()
    enrol(factories.signed_in_client(user), soft)
    client = password_only("plain")
    response = use(client, soft, origin="https://cohortvault.evil.example")
    assert response.status_code == 401
    assert response.json()["detail"] == "The security key was not accepted."
    assert client.get(reverse("consortium:dashboard")).url == reverse("identity:verify")
    failed = entries("login.second_factor", actor="plain", outcome="failed")
    assert "origin" in failed[-1].reason and "evil.example" in failed[-1].reason
    assert failed[-1].details == {"factor": "security_key"}


def test_an_answer_cannot_be_replayed(user: User) -> None:
    soft = SoftKey()
    enrol(factories.signed_in_client(user), soft)
    client = password_only("plain")
    options = post_json(client, BEGIN_AUTHENTICATION).json()
    answer = soft.answer(options)
    assert post_json(client, COMPLETE_AUTHENTICATION, answer).status_code == 200
    again = password_only("plain")
    replay = post_json(again, COMPLETE_AUTHENTICATION, answer)
    assert replay.status_code == 400 and replay.json()["code"] == "invalid_state"
    assert "no challenge" in entries("login.second_factor", outcome="failed")[-1].reason


def test_another_users_key_is_refused(user: User) -> None:
    soft = SoftKey()
    enrol(factories.signed_in_client(user), soft)
    other = factories.make_user("other")
    make_key(other)
    client = password_only("other")
    assert use(client, soft).status_code == 401
    assert client.get(reverse("consortium:dashboard")).url == reverse("identity:verify")


def test_keys_need_a_host_name_not_an_ip_address(user: User) -> None:
    make_key(user)
    client = Client(HTTP_HOST="127.0.0.1")
    client.post(reverse("identity:login"), {"username": "plain", "password": factories.PASSWORD})
    page = client.get(reverse("identity:verify"))
    assert b"host name" in page.content and b"passkey-verification-button" not in page.content
    refused = post_json(client, BEGIN_AUTHENTICATION)
    assert refused.status_code == 400 and refused.json()["code"] == "host_name_required"
    assert "127.0.0.1" in entries("login.second_factor", outcome="failed")[-1].reason


def test_disabled_key_owner_cannot_use_it(user: User) -> None:
    soft = SoftKey()
    enrol(factories.signed_in_client(user), soft)
    client = password_only("plain")
    options = post_json(client, BEGIN_AUTHENTICATION).json()
    User.objects.filter(pk=user.pk).update(is_active=False)
    response = post_json(client, COMPLETE_AUTHENTICATION, soft.answer(options))
    assert response.status_code in (302, 401)
    assert not entries("login.second_factor", actor="plain", outcome="ok")


# --- re-authentication -----------------------------------------------------------------------


def test_adding_a_factor_needs_a_fresh_second_factor(user: User) -> None:
    client = factories.signed_in_client(user)
    make_stale(client)
    for name in ("identity:security-key-add", "identity:enrol"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response.url == reverse("identity:reauthenticate") + "?next=" + reverse(
            name
        ).replace("/", "%2F")
    refused = post_json(client, BEGIN_REGISTRATION)
    assert refused.status_code == 403 and refused.json()["code"] == "reauthentication_required"


def test_removing_a_factor_needs_a_fresh_second_factor(user: User) -> None:
    key = make_key(user)
    client = factories.signed_in_client(user)
    make_stale(client)
    response = client.post(
        reverse("identity:security-key-revoke", args=[key.pk]),
        HTTP_REFERER="http://testserver/account/security/",
    )
    assert response.url == "/account/reauthenticate/?next=%2Faccount%2Fsecurity%2F"
    assert WebAuthnCredential.objects.filter(pk=key.pk).exists()
    totp = user.totpdevice_set.get()
    response = client.post(reverse("identity:authenticator-remove", args=[totp.pk]))
    assert response.url.startswith(reverse("identity:reauthenticate"))
    assert user.totpdevice_set.exists()
    assert client.post(reverse("identity:recovery-codes")).status_code == 302
    assert not entries("factor.revoke")


def test_reauthenticate_with_a_code_and_return_to_next(user: User) -> None:
    device = user.totpdevice_set.get()
    client = factories.signed_in_client(user, device)
    make_stale(client)
    page = client.get(reverse("identity:reauthenticate") + "?next=/account/security/")
    assert page.status_code == 200 and b'value="/account/security/"' in page.content
    wrong = client.post(
        reverse("identity:reauthenticate"), {"code": "000000", "next": "/account/security/"}
    )
    assert wrong.status_code == 200 and b"not valid" in wrong.content
    assert entries("reauthenticate", outcome="failed")[-1].details == {"factor": "totp"}
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.save()
    response = client.post(
        reverse("identity:reauthenticate"),
        {"code": factories.code_for(device), "next": "/account/security/"},
    )
    assert response.status_code == 302 and response.url == "/account/security/"
    assert is_fresh(_request_with(client))
    assert entries("reauthenticate", outcome="ok")[-1].details == {"factor": "totp"}
    assert client.get(reverse("identity:security-key-add")).status_code == 200


def test_reauthentication_never_leaves_the_site(user: User) -> None:
    codes = recovery_codes(user)
    client = factories.signed_in_client(user)
    make_stale(client)
    response = client.post(
        reverse("identity:reauthenticate"), {"code": codes[0], "next": "https://evil.example/"}
    )
    assert response.url == reverse("consortium:dashboard")
    response = client.post(
        reverse("identity:reauthenticate"), {"code": codes[1], "next": "//evil.example/x"}
    )
    assert response.url == reverse("consortium:dashboard")


def test_reauthenticate_with_a_key(user: User) -> None:
    soft = SoftKey()
    client = factories.signed_in_client(user)
    enrol(client, soft)
    make_stale(client)
    page = client.get(reverse("identity:reauthenticate") + "?next=/account/security/")
    assert b"Use a security key" in page.content
    response = use(client, soft, next_url="/account/security/")
    assert response.status_code == 200
    assert response.json()["redirect_url"] == "/account/security/"
    assert is_fresh(_request_with(client))
    assert entries("reauthenticate", outcome="ok")[-1].details["factor"] == "security_key"
    evil = use(client, soft, next_url="https://evil.example/")
    assert evil.json()["redirect_url"] == reverse("consortium:dashboard")


def test_reauthentication_page_needs_a_verified_session(user: User) -> None:
    assert Client().get(reverse("identity:reauthenticate")).url.startswith("/login/")
    client = password_only("plain")
    assert client.get(reverse("identity:reauthenticate")).url == reverse("identity:verify")


def test_fresh_required_and_reauthentication_url_for_other_views(user: User) -> None:
    @fresh_required
    def sensitive(request: Any) -> Any:
        from django.http import HttpResponse

        return HttpResponse("done")

    client = factories.signed_in_client(user)
    request = RequestFactory().get("/governance/requests/7/?tab=x")
    request.session = client.session
    request.user = user
    request.user.is_verified = lambda: True  # type: ignore[method-assign]
    request._messages = _Messages()  # type: ignore[attr-defined]
    assert sensitive(request).content == b"done"
    make_stale(client)
    request.session = client.session
    response = sensitive(request)
    assert response.status_code == 302
    assert response.url == "/account/reauthenticate/?next=%2Fgovernance%2Frequests%2F7%2F%3Ftab%3Dx"
    assert reauthentication_url(request, "/x/") == "/account/reauthenticate/?next=%2Fx%2F"


class _Messages:
    def add(self, *args: Any, **kwargs: Any) -> None:
        pass


# --- require_security_key ----------------------------------------------------------------------


@pytest.fixture
def keys_required(settings: Any) -> None:
    settings.COHORTVAULT_REQUIRE_SECURITY_KEY = True


def test_totp_verified_data_manager_reaches_only_key_enrolment(
    data_manager: User, keys_required: None
) -> None:
    client = factories.signed_in_client(data_manager)
    add = reverse("identity:security-key-add")
    for path in ("/", reverse("identity:security"), reverse("files:areas"), "/admin/"):
        response = client.get(path)
        assert response.status_code == 302 and response.url == add, path
    page = client.get(add)
    assert page.status_code == 200 and b"Your role needs a security key" in page.content
    assert client.get(reverse("identity:reauthenticate")).status_code == 200
    api = client.get("/api/v1/me")
    assert api.status_code == 403 and "security key" in api.json()["error"]["message"]
    assert post_json(client, BEGIN_REGISTRATION).status_code == 200
    assert client.post(reverse("identity:logout")).url == reverse("identity:login")


def test_key_verified_data_manager_is_let_through(data_manager: User, keys_required: None) -> None:
    key = make_key(data_manager)
    client = factories.signed_in_client(data_manager, key)
    assert client.get("/").status_code == 200
    assert client.get(reverse("identity:security")).status_code == 200
    assert client.get("/api/v1/me").status_code == 200


def test_the_setting_touches_only_data_managers_and_exporters(
    user: User, data_manager: User, settings: Any
) -> None:
    exporter = factories.make_user("exp1")
    factories.grant(exporter, Role.EXPORTER)
    settings.COHORTVAULT_REQUIRE_SECURITY_KEY = True
    assert factories.signed_in_client(user).get("/").status_code == 200
    assert factories.signed_in_client(exporter).get("/").status_code == 302
    settings.COHORTVAULT_REQUIRE_SECURITY_KEY = False
    assert factories.signed_in_client(data_manager).get("/").status_code == 200


def test_restricted_data_manager_adds_a_key_then_confirms_with_it(
    data_manager: User, keys_required: None
) -> None:
    soft = SoftKey()
    recovery_codes(data_manager)
    client = factories.signed_in_client(data_manager)
    key_id = enrol(client, soft).json()["id"]
    assert client.get("/").url == reverse("identity:security-key-add")  # a code still verified it
    named = client.post(
        reverse("identity:security-key-added"), {"credential": key_id, "name": "dm key"}
    )
    assert named.url == "/account/reauthenticate/?next=%2F"
    response = use(client, soft, next_url="/")
    assert response.status_code == 200 and response.json()["redirect_url"] == "/"
    assert client.get("/").status_code == 200


def test_token_endpoint_refuses_users_who_must_use_a_key(
    data_manager: User, user: User, keys_required: None
) -> None:
    def ask(who: User) -> Any:
        device = who.totpdevice_set.get()
        return post_json(
            Client(),
            "/api/v1/auth/token",
            {
                "username": who.username,
                "password": factories.PASSWORD,
                "otp": factories.code_for(device),
            },
        )

    refused = ask(data_manager)
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "Invalid username, password or one-time code."
    denied = entries("token.issue", actor="dm1", outcome="denied")
    assert denied and "require_security_key" in denied[-1].reason
    assert "security key" in denied[-1].reason
    assert ask(user).status_code == 200
