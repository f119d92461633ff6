"""A registration in a real browser: the administrator approves it and gets the enrolment
letter; the new researcher follows the letter's address, sets a password and an authenticator
(its code computed here from the secret the page shows) and lands on the dashboard.

Every page is watched for Content-Security-Policy violations, which only a browser reports.
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import Browser

from cohortvault.access.policy import Role
from cohortvault.consortium.services import principal_for_user
from cohortvault.demo import current_code
from cohortvault.governance import services
from cohortvault.identity.models import User
from tests import factories
from tests.browser.test_login_flow import (  # noqa: F401 (fixtures)
    Tab,
    browser,
    sign_in_with_password,
    tab,
)

pytestmark = pytest.mark.browser


def test_approved_registration_letter_leads_the_new_user_to_the_dashboard(
    tab: Tab,  # noqa: F811
    browser: Browser,  # noqa: F811
) -> None:
    site = factories.make_site("oslo", name="Oslo University Hospital")
    contact = factories.make_user("contact")
    membership = factories.grant(contact, Role.SITE_MEMBER, site=site)
    membership.is_contact = True
    membership.save()
    dpo = factories.make_user("dpo")
    factories.grant(dpo, Role.DATA_PROTECTION_OFFICER)
    admin = factories.make_user("admin", first_name="Ada", last_name="Admin")
    factories.grant(admin, Role.ADMINISTRATOR)
    device = factories.enrol_totp(admin)
    registration = services.request_registration(
        principal_for_user(contact),
        site="oslo",
        first_name="Nina",
        last_name="Ny",
        email="nina@example.org",
        reason="joins the memory study",
    )
    services.decide_registration(
        principal_for_user(dpo), registration.pk, approve=True, reason="known", fresh=True
    )

    sign_in_with_password(tab, "admin")
    tab.page.wait_for_url(re.compile(r"/login/verify/$"))
    tab.page.fill("#id_code", factories.code_for(device))
    tab.page.get_by_role("button", name="Verify").click()
    tab.page.wait_for_url(tab.base_url + "/")
    tab.page.get_by_role("link", name="Queue").click()
    tab.page.locator("#queue-registrations a", has_text=f"#{registration.pk}").click()
    tab.page.get_by_role("button", name="Approve and create the account").click()

    letter = tab.page.locator("#letter")
    letter.wait_for()
    assert tab.page.locator("#letter-username").inner_text() == "p274-001"
    code = tab.page.locator("#letter-code").inner_text().strip()
    address = tab.page.locator("#letter-url").inner_text().strip()
    assert address == f"{django_settings.COHORTVAULT_SITE_URL}/enrol/{code}/"
    qr = letter.locator("img.qr")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0") is True
    assert tab.csp_violations() == []

    context = browser.new_context(base_url=tab.base_url)  # a different person's browser
    context.set_default_timeout(10_000)
    newcomer = Tab(page=context.new_page(), base_url=tab.base_url)
    newcomer.page.on(
        "console",
        lambda m: newcomer.console_errors.append(m.text) if m.type == "error" else None,
    )
    newcomer.goto(f"/enrol/{code}/")
    assert newcomer.page.locator("h1").inner_text() == "Choose a password"
    assert newcomer.page.locator("#enrol-username").inner_text() == "p274-001"
    newcomer.page.fill("#id_password1", factories.PASSWORD)
    newcomer.page.fill("#id_password2", factories.PASSWORD)
    newcomer.page.get_by_role("button", name="Continue").click()

    newcomer.page.wait_for_selector("#totp-secret")
    assert newcomer.page.locator("h1").inner_text() == "Set up an authenticator"
    assert newcomer.page.locator("img.qr").evaluate("i => i.complete && i.naturalWidth > 0")
    secret = newcomer.page.locator("#totp-secret").inner_text().strip()
    newcomer.page.fill("#id_code", current_code(secret))
    newcomer.page.get_by_role("button", name="Confirm").click()

    newcomer.page.wait_for_selector("#recovery-codes")
    assert len(newcomer.page.locator("#recovery-codes li").all_inner_texts()) == 10
    newcomer.page.get_by_role("link", name="I have saved them").click()
    newcomer.page.wait_for_url(newcomer.base_url + "/")
    assert newcomer.page.locator("h1").inner_text() == "Welcome, Nina Ny"
    assert "site_member" in newcomer.page.locator("#my-roles").inner_text()
    assert newcomer.page.locator("header .who").inner_text() == "p274-001"
    assert User.objects.get(username="p274-001").is_active

    newcomer.goto(f"/enrol/{code}/")  # the letter works once
    assert "not valid" in newcomer.page.get_by_role("alert").inner_text()
    assert newcomer.csp_violations() == [] and tab.csp_violations() == []
    context.close()
