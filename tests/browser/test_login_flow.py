"""Signing in with a real browser: password, one-time code, enrolment, signing out.

Playwright's sync API drives Debian's Chromium against pytest-django's live server. Every page
is also watched for Content-Security-Policy violations, which only a browser reports.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
from pytest_django.live_server_helper import LiveServer

from cohortvault.demo import current_code
from tests import factories

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for the module. While Playwright's event loop exists, Django's ORM calls
    in the test's own thread look like calls from async code, so the check is lifted here."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()


@dataclass
class Tab:
    """A page in a fresh browser context, with the console errors it logged."""

    page: Page
    base_url: str
    console_errors: list[str] = field(default_factory=list)

    def goto(self, path: str) -> None:
        self.page.goto(self.base_url + path)

    def path(self) -> str:
        return self.page.url.removeprefix(self.base_url)

    def csp_violations(self) -> list[str]:
        return [text for text in self.console_errors if "Content Security Policy" in text]


@pytest.fixture
def tab(
    browser: Browser,
    live_server: LiveServer,
    transactional_db: None,
) -> Iterator[Tab]:
    """A fresh browser context per test, against a transactional database the live server sees."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    tab = Tab(page=page, base_url=live_server.url)

    def record(message: ConsoleMessage) -> None:
        if message.type == "error":
            tab.console_errors.append(message.text)

    page.on("console", record)
    yield tab
    context.close()


def sign_in_with_password(tab: Tab, username: str, password: str = factories.PASSWORD) -> None:
    tab.goto("/login/")
    tab.page.fill("#id_username", username)
    tab.page.fill("#id_password", password)
    tab.page.get_by_role("button", name="Continue").click()


def test_password_then_code_reaches_dashboard_and_sign_out_ends_session(tab: Tab) -> None:
    user = factories.make_user("kari", first_name="Kari", last_name="Nordmann")
    device = factories.enrol_totp(user)

    sign_in_with_password(tab, "kari")
    tab.page.wait_for_url(re.compile(r"/login/verify/$"))
    assert tab.page.locator("h1").inner_text() == "One-time code"
    tab.page.fill("#id_code", factories.code_for(device))
    tab.page.get_by_role("button", name="Verify").click()

    tab.page.wait_for_url(tab.base_url + "/")
    heading = tab.page.locator("h1").inner_text()
    assert heading.startswith("Welcome") and "Kari Nordmann" in heading
    areas = tab.page.locator("#areas")
    assert areas.is_visible()
    assert "home/kari/" in areas.inner_text()
    assert tab.page.locator("header .who").inner_text() == "kari"

    tab.page.get_by_role("button", name="Sign out").click()
    tab.page.wait_for_url(re.compile(r"/login/$"))
    assert tab.page.locator("h1").inner_text() == "Sign in"
    assert "You are signed out." in tab.page.locator(".messages").inner_text()

    tab.goto("/")
    assert tab.path().startswith("/login/?next=")
    assert tab.page.locator("h1").inner_text() == "Sign in"
    assert tab.page.locator("#areas").count() == 0
    assert tab.csp_violations() == []


def test_new_user_enrols_an_authenticator_and_sees_recovery_codes(tab: Tab) -> None:
    factories.make_user("newbie")

    sign_in_with_password(tab, "newbie")
    tab.page.wait_for_url(re.compile(r"/account/enrol/$"))
    qr = tab.page.locator("img.qr")
    assert (qr.get_attribute("src") or "").startswith("data:image/svg+xml")
    # the QR code, a data: image, must really render under the page's CSP
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0") is True
    secret = tab.page.locator("#totp-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret)
    tab.page.fill("#id_code", current_code(secret))
    tab.page.get_by_role("button", name="Confirm").click()

    tab.page.wait_for_selector("#recovery-codes")
    assert tab.page.locator("h1").inner_text() == "Recovery codes"
    codes = tab.page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    assert all(re.fullmatch(r"[0-9A-F]{4}(-[0-9A-F]{4}){3}", code.strip()) for code in codes)
    assert len(set(codes)) == 10

    tab.page.get_by_role("link", name="I have saved them").click()
    tab.page.wait_for_url(tab.base_url + "/")
    assert tab.page.locator("h1").inner_text().startswith("Welcome")
    assert tab.page.locator("#areas").is_visible()
    assert tab.csp_violations() == []


def test_wrong_password_shows_the_error_and_stays_on_login(tab: Tab) -> None:
    user = factories.make_user("kari")
    factories.enrol_totp(user)

    sign_in_with_password(tab, "kari", "not the right password 1")
    alert = tab.page.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text() == "Invalid username, password or one-time code."
    assert tab.path().startswith("/login/")
    assert tab.page.locator("h1").inner_text() == "Sign in"
    assert tab.page.locator("#id_password").input_value() == ""

    tab.goto("/")
    assert tab.path().startswith("/login/?next=")
    assert tab.csp_violations() == []
