"""The file browser in a real browser: uploads through the page's script with a progress bar
per file, download, delete and restore, all under the page's Content-Security-Policy."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Request
from pytest_django.live_server_helper import LiveServer

from cohortvault.access.policy import Role
from cohortvault.files import services
from cohortvault.identity.models import User
from tests import factories
from tests.browser import test_login_flow as login_flow
from tests.browser.test_login_flow import Tab

pytestmark = pytest.mark.browser

# the login flow module's fixtures: one Chromium per module, a fresh context per test
browser = login_flow.browser
tab = login_flow.tab

FOLDER = "sites/oslo/import"


@pytest.fixture
def kari() -> User:
    site = factories.make_site("oslo")
    user = factories.make_user("kari", first_name="Kari", last_name="Nordmann")
    factories.enrol_totp(user)
    factories.grant(user, Role.SITE_MEMBER, site=site)
    return user


def sign_in(tab: Tab, user: User) -> None:
    """Through the real pages: password, then the authenticator's current code."""
    login_flow.sign_in_with_password(tab, user.username)
    tab.page.wait_for_url(re.compile(r"/login/verify/$"))
    device = user.totpdevice_set.get()
    tab.page.fill("#id_code", factories.code_for(device))
    tab.page.get_by_role("button", name="Verify").click()
    tab.page.wait_for_url(tab.base_url + "/")


def row(tab: Tab, name: str):  # type: ignore[no-untyped-def]
    return tab.page.locator(f'#entries tr[data-name="{name}"]')


def test_upload_two_files_with_progress_then_download_delete_and_restore(
    tab: Tab, kari: User
) -> None:
    scores = b"subject,score\ns01,27\ns02,30\n"
    scan = bytes(range(256)) * 12_288  # 3 MiB, so the progress bar has something to show
    sent: list[Request] = []
    tab.page.on("request", lambda r: sent.append(r) if r.method == "PUT" else None)

    sign_in(tab, kari)
    tab.page.get_by_role("link", name="Files").click()
    tab.page.get_by_role("link", name="Oslo: import").click()
    tab.page.wait_for_url(f"{tab.base_url}/files/{FOLDER}/")
    assert tab.page.locator("#empty-folder").is_visible()

    tab.page.set_input_files(
        "#upload-files",
        files=[
            {"name": "scores.csv", "mimeType": "text/csv", "buffer": scores},
            {"name": "scan #1 é.bin", "mimeType": "application/octet-stream", "buffer": scan},
        ],
    )
    tab.page.get_by_role("button", name="Upload", exact=True).click()

    summary = tab.page.locator("#upload-summary")
    summary.filter(has_text="Stored 2 of 2 files.").wait_for()
    bars = tab.page.locator("#upload-progress progress")
    assert bars.count() == 2
    assert bars.evaluate_all("bars => bars.map(b => b.value === b.max)") == [True, True]
    statuses = tab.page.locator("#upload-progress .upload-status").all_inner_texts()
    assert [s.split(" ·")[0] for s in statuses] == ["stored", "stored"]
    # each file went to the REST API on its own, its name encoded as one path segment
    assert [(r.method, r.url.removeprefix(tab.base_url)) for r in sent] == [
        ("PUT", f"/api/v1/files/{FOLDER}/scores.csv"),
        ("PUT", f"/api/v1/files/{FOLDER}/scan%20%231%20%C3%A9.bin"),
    ]
    # the listing was refreshed in place
    row(tab, "scan #1 é.bin").wait_for()
    assert row(tab, "scores.csv").locator("td").nth(1).inner_text() == f"{len(scores)}\xa0bytes"
    assert row(tab, "scan #1 é.bin").locator("td").nth(1).inner_text() == "3.0\xa0MB"
    member = factories.principal(kari)
    stored = services.read_file(member, f"{FOLDER}/scan #1 é.bin")
    assert b"".join(stored.chunks) == scan

    with tab.page.expect_download() as info:
        row(tab, "scores.csv").get_by_role("link", name="Download").click()
    download = info.value
    assert download.suggested_filename == "scores.csv"
    assert Path(download.path()).read_bytes() == scores

    row(tab, "scores.csv").get_by_role("button", name="Delete scores.csv").click()
    tab.page.locator(".messages").filter(has_text="Deleted scores.csv.").wait_for()
    assert row(tab, "scores.csv").count() == 0
    assert row(tab, "scan #1 é.bin").is_visible()

    tab.page.get_by_role("link", name="Recently deleted").click()
    tab.page.wait_for_url(f"{tab.base_url}/files/deleted/{FOLDER}/")
    tab.page.get_by_role("button", name="Restore scores.csv").click()
    tab.page.wait_for_url(f"{tab.base_url}/files/{FOLDER}/")
    assert "Restored scores.csv." in tab.page.locator(".messages").inner_text()
    assert row(tab, "scores.csv").is_visible()
    restored = services.read_file(member, f"{FOLDER}/scores.csv")
    assert b"".join(restored.chunks) == scores

    assert tab.csp_violations() == []
    assert tab.console_errors == []


def test_a_refused_upload_is_explained_next_to_its_file(tab: Tab, kari: User, settings) -> None:  # type: ignore[no-untyped-def]
    settings.COHORTVAULT_MAX_UPLOAD_SIZE = 1024
    services.write_file(factories.principal(kari), f"{FOLDER}/old.csv", io.BytesIO(b"1"), size=1)
    sign_in(tab, kari)
    tab.goto(f"/files/{FOLDER}/")
    tab.page.set_input_files(
        "#upload-files",
        files=[
            {"name": "small.csv", "mimeType": "text/csv", "buffer": b"a,b\n"},
            {"name": "huge.bin", "mimeType": "application/octet-stream", "buffer": b"x" * 4096},
        ],
    )
    tab.page.get_by_role("button", name="Upload", exact=True).click()
    tab.page.locator("#upload-summary").filter(has_text="Stored 1 of 2 files.").wait_for()
    failed = tab.page.locator("#upload-progress li.failed")
    assert failed.locator(".upload-name").inner_text() == "huge.bin"
    assert "more than the limit of 1024 bytes" in failed.locator(".upload-status").inner_text()
    row(tab, "small.csv").wait_for()
    assert row(tab, "huge.bin").count() == 0
    assert tab.csp_violations() == []


def test_without_javascript_the_form_uploads_as_a_plain_post(
    browser: Browser, live_server: LiveServer, transactional_db: None, kari: User
) -> None:
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(10_000)
    try:
        plain = Tab(page=context.new_page(), base_url=live_server.url)
        sign_in(plain, kari)
        plain.goto(f"/files/{FOLDER}/")
        plain.page.set_input_files(
            "#upload-files",
            files=[
                {"name": "a.csv", "mimeType": "text/csv", "buffer": b"a\n1\n"},
                {"name": "b.csv", "mimeType": "text/csv", "buffer": b"b\n2\n"},
            ],
        )
        plain.page.get_by_role("button", name="Upload", exact=True).click()
        plain.page.locator(".messages").filter(has_text="Stored 2 files: a.csv, b.csv.").wait_for()
        assert plain.path() == f"/files/{FOLDER}/"
        assert row(plain, "a.csv").is_visible() and row(plain, "b.csv").is_visible()
    finally:
        context.close()
