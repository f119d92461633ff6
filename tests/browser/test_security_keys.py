"""Security keys in a real browser: Chromium's virtual authenticator (Chrome DevTools Protocol
``WebAuthn.addVirtualAuthenticator``) plays the YubiKey.

WebAuthn refuses IP addresses as relying party ID, so the live server is used by its host name
(``http://localhost:<port>``); opening it as ``http://127.0.0.1:<port>`` is the wrong origin.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django_otp_webauthn.models import WebAuthnCredential

from cohortvault.audit.models import AuditEntry
from cohortvault.identity.models import User
from cohortvault.identity.services import regenerate_recovery_codes
from tests import factories
from tests.browser import test_login_flow as login_flow
from tests.browser.test_login_flow import Tab, sign_in_with_password

pytestmark = pytest.mark.browser

# the login flow module's fixtures: one Chromium per module, a fresh context per test
browser = login_flow.browser
tab = login_flow.tab

AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "usb",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


class VirtualKey:
    """A security key plugged into the tab's browser (it survives navigation in that tab)."""

    def __init__(self, tab: Tab) -> None:
        self.session = tab.page.context.new_cdp_session(tab.page)
        self.session.send("WebAuthn.enable")
        added = self.session.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
        self.authenticator_id = added["authenticatorId"]

    def credentials(self) -> list[dict[str, Any]]:
        found = self.session.send(
            "WebAuthn.getCredentials", {"authenticatorId": self.authenticator_id}
        )
        return list(found["credentials"])


def user_with_authenticator(username: str) -> tuple[User, Any]:
    user = factories.make_user(username)
    device = factories.enrol_totp(user)
    regenerate_recovery_codes(user)
    return user, device


def sign_in_with_code(tab: Tab, username: str, device: Any) -> None:
    sign_in_with_password(tab, username)
    tab.page.wait_for_url(re.compile(r"/login/verify/$"))
    tab.page.fill("#id_code", factories.code_for(device))
    tab.page.get_by_role("button", name="Verify").click()
    tab.page.wait_for_url(tab.base_url + "/")


def enrol_key(tab: Tab, name: str) -> None:
    tab.goto("/account/security-keys/add/")
    tab.page.get_by_role("button", name="Register the security key").wait_for()
    tab.page.fill("#id_name", name)
    tab.page.get_by_role("button", name="Register the security key").click()
    tab.page.wait_for_url(re.compile(r"/account/security/$"))


def sign_out(tab: Tab) -> None:
    tab.page.get_by_role("button", name="Sign out").click()
    tab.page.wait_for_url(re.compile(r"/login/$"))


def test_enrol_sign_in_with_the_key_revoke_it_and_it_no_longer_works(tab: Tab) -> None:
    assert tab.base_url.startswith("http://localhost:")
    _user, device = user_with_authenticator("kari")
    key = VirtualKey(tab)

    sign_in_with_code(tab, "kari", device)
    enrol_key(tab, "Kari's YubiKey")
    assert "added" in tab.page.locator(".messages").inner_text()
    keys = tab.page.locator("#security-keys")
    assert keys.locator("input[name=name]").input_value() == "Kari's YubiKey"
    assert "never" in keys.inner_text()
    assert len(key.credentials()) == 1
    stored = WebAuthnCredential.objects.get(user__username="kari")
    assert stored.name == "Kari's YubiKey"

    sign_out(tab)
    sign_in_with_password(tab, "kari")
    tab.page.wait_for_url(re.compile(r"/login/verify/$"))
    tab.page.get_by_role("button", name="Use a security key").wait_for()
    tab.page.get_by_role("button", name="Use a security key").click()
    tab.page.wait_for_url(tab.base_url + "/")
    assert tab.page.locator("h1").inner_text().startswith("Welcome")
    used = AuditEntry.objects.filter(action="login.second_factor", actor="kari", outcome="ok")
    assert used.latest("seq").details["factor"] == "security_key"

    tab.goto("/account/security/")
    keys = tab.page.locator("#security-keys")
    assert "never" not in keys.inner_text()  # last used: just now
    keys.get_by_role("button", name="Remove security key Kari's YubiKey").click()
    # the session was confirmed with that key: it has to give a second factor again
    tab.page.wait_for_url(re.compile(r"/login/verify/$"))
    assert not WebAuthnCredential.objects.filter(user__username="kari").exists()
    assert tab.page.get_by_role("button", name="Use a security key").count() == 0
    assert AuditEntry.objects.filter(action="factor.revoke", actor="kari").exists()

    sign_out(tab)
    sign_in_with_password(tab, "kari")
    tab.page.wait_for_url(re.compile(r"/login/verify/$"))
    assert tab.page.get_by_role("button", name="Use a security key").count() == 0
    status = begin_authentication_from_page(tab)
    assert status == 404  # the server knows no key for kari any more
    tab.goto("/")
    assert tab.path() == "/login/verify/"
    assert tab.csp_violations() == []


def begin_authentication_from_page(tab: Tab) -> int:
    """Ask the server for a key challenge as the page's script would (CSRF token from a form)."""
    status: int = tab.page.evaluate(
        """async () => {
            const token = document.querySelector("input[name=csrfmiddlewaretoken]").value;
            const response = await fetch("/webauthn/authentication/begin/", {
                method: "POST", credentials: "same-origin",
                headers: {"X-CSRFToken": token, "Accept": "application/json"},
            });
            return response.status;
        }"""
    )
    return status


def test_the_key_is_refused_at_another_origin(tab: Tab) -> None:
    _user, device = user_with_authenticator("kari")
    key = VirtualKey(tab)
    sign_in_with_code(tab, "kari", device)
    enrol_key(tab, "Kari's YubiKey")
    sign_out(tab)
    credential_id = key.credentials()[0]["credentialId"]

    # the same server, reached by its IP address: another origin, where the key must not answer
    other = tab.base_url.replace("//localhost:", "//127.0.0.1:")
    tab.page.goto(other + "/login/")
    tab.page.fill("#id_username", "kari")
    tab.page.fill("#id_password", factories.PASSWORD)
    tab.page.get_by_role("button", name="Continue").click()
    tab.page.wait_for_url(other + "/login/verify/")
    assert "host name" in tab.page.locator("#security-key-use").inner_text()
    assert tab.page.get_by_role("button", name="Use a security key").count() == 0

    # the server gives no challenge here ...
    assert begin_authentication_from_page(tab) == 400
    # ... and the browser will not use the localhost key for this origin either
    error = tab.page.evaluate(
        """async (credentialId) => {
            const id = Uint8Array.from(atob(credentialId), c => c.charCodeAt(0));
            try {
                await navigator.credentials.get({publicKey: {
                    challenge: crypto.getRandomValues(new Uint8Array(32)),
                    rpId: "localhost",
                    allowCredentials: [{type: "public-key", id}],
                    timeout: 5000,
                }});
                return "accepted";
            } catch (e) {
                return e.name;
            }
        }""",
        credential_id,
    )
    assert error == "SecurityError"
    tab.page.goto(other + "/")
    assert tab.page.url == other + "/login/verify/"
    failed = AuditEntry.objects.filter(action="login.second_factor", actor="kari", outcome="failed")
    assert "host_name_required" in failed.latest("seq").reason
    assert not AuditEntry.objects.filter(
        action="login.second_factor", actor="kari", outcome="ok", details__factor="security_key"
    ).exists()
    assert tab.csp_violations() == []
