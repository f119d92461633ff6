"""The dataset pages: the list, a dataset's versions, a version with its columns, first rows and
downloads, and the difference between two versions with its downloads."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest
from django.test import Client

from cohortvault.access.policy import Principal, Role
from cohortvault.audit.models import AuditEntry
from cohortvault.consortium.models import Site
from cohortvault.datasets import services
from cohortvault.identity.models import User
from tests import factories
from tests.datasets.conftest import ROWS, STUDY, dictionary, text_table

pytestmark = pytest.mark.django_db


def text(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.content.decode())


@pytest.fixture
def reader(site_member: User) -> Client:
    return factories.signed_in_client(site_member)


@pytest.fixture
def two_versions(first: services.VersionInfo, manager: Principal) -> services.VersionInfo:
    edited = [dict(r) for r in ROWS[:2]]
    edited[1]["mmse"] = "21"
    return services.create_version(
        manager,
        site="oslo",
        study=STUDY,
        table=text_table(edited),
        dictionary=dictionary(),
        source="correction 7",
        reason="ticket 7: <b>typo</b>",
    )


def test_the_list_links_each_dataset(reader: Client, two_versions: services.VersionInfo) -> None:
    page = text(reader.get("/datasets/"))
    assert 'id="dataset-oslo-study"' in page
    assert 'href="/datasets/oslo/study/"' in page and 'href="/datasets/oslo/study/2/"' in page
    assert '<a href="/datasets/">Datasets</a>' in page  # the menu


def test_empty_list(reader: Client, site: Site) -> None:
    assert 'id="no-datasets"' in text(reader.get("/datasets/"))


def test_the_log_lists_versions_and_offers_a_comparison(
    reader: Client, two_versions: services.VersionInfo
) -> None:
    page = text(reader.get("/datasets/oslo/study/"))
    assert re.findall(r'<tr id="version-(\d+)">', page) == ["2", "1"]
    assert "ticket 7: &lt;b&gt;typo&lt;/b&gt;" in page and "correction 7" in page
    assert 'action="/datasets/oslo/study/diff/"' in page
    assert '<option value="1" selected>' in page and '<option value="2" selected>' in page


def test_a_version_page_shows_facts_columns_and_first_rows(
    reader: Client, first: services.VersionInfo
) -> None:
    page = text(reader.get("/datasets/oslo/study/1/"))
    assert "import 12: visit1.csv" in page and first.checksum in page
    assert page.count('<tr id="column-') == 9
    assert "<td>=HYPERLINK(1)</td>" in page  # shown as text, never run
    preview = page[page.index('id="preview"') :]
    assert preview.count("<tr>") == 1 + 3
    assert 'href="/datasets/oslo/study/1/export.csv"' in page
    assert 'href="/datasets/oslo/study/1/export.parquet"' in page
    assert "style=" not in page and "<script>" not in page


def test_downloads_from_the_pages(reader: Client, two_versions: services.VersionInfo) -> None:
    exported = reader.get("/datasets/oslo/study/1/export.csv")
    lines = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert len(lines) == 4 and "'=HYPERLINK(1)" in lines[3]
    assert reader.get("/datasets/oslo/study/1/export.docx").status_code == 422
    as_json = reader.get("/datasets/oslo/study/diff.json?old=1&new=2")
    assert as_json["Content-Disposition"].startswith("attachment")
    assert json.loads(as_json.content)["totals"]["cells_changed"] == 1
    as_csv = reader.get("/datasets/oslo/study/diff.csv?old=1&new=2")
    assert b"".join(as_csv.streaming_content).startswith(b'"kind","subject_id"')
    assert reader.get("/datasets/oslo/study/diff.xml?old=1&new=2").status_code == 404


def test_the_diff_page(reader: Client, two_versions: services.VersionInfo) -> None:
    page = text(reader.get("/datasets/oslo/study/diff/?old=1&new=2"))
    assert "1 row(s) removed, 1 cell(s) changed" in page
    changes = page[page.index('id="cell-changes"') :]
    assert "<td>OSL-0001</td><td>wave2</td><td><code>mmse</code></td><td>-99</td><td>21</td>" in (
        changes
    )
    rows = page[page.index('id="row-changes"') :]
    assert "<td>removed</td><td>OSL-0001</td><td>wave1</td>" in rows
    assert 'href="/datasets/oslo/study/diff.csv?old=1&amp;new=2"' in page
    assert 'href="/datasets/oslo/study/diff.json?old=1&amp;new=2"' in page
    assert 'id="truncated"' not in page
    same = text(reader.get("/datasets/oslo/study/diff/?old=2&new=2"))
    assert 'id="no-changes"' in same
    assert reader.get("/datasets/oslo/study/diff/?old=1").status_code == 422
    assert reader.get("/datasets/oslo/study/diff/?old=1&new=5").status_code == 404


def test_a_long_diff_is_capped_on_the_page(
    reader: Client, site: Site, manager: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "PAGE_LIMIT", 2)
    rows = [{"subject_id": f"S{i}", "timepoint": "t", "comment": "a"} for i in range(5)]
    for value in ("a", "b"):
        table = text_table([{**r, "comment": value} for r in rows])
        services.create_version(
            manager, site="oslo", study=STUDY, table=table, dictionary=dictionary()
        )
    page = text(reader.get("/datasets/oslo/study/diff/?old=1&new=2"))
    assert 'id="truncated"' in page
    assert page[page.index('id="cell-changes"') :].count("<td><code>comment</code>") == 2


def test_other_sites_see_nothing(first: services.VersionInfo, other_site: Site) -> None:
    berliner = factories.make_user("berlin1")
    factories.enrol_totp(berliner)
    factories.grant(berliner, Role.SITE_MEMBER, site=other_site)
    browser = factories.signed_in_client(berliner)
    assert 'id="no-datasets"' in text(browser.get("/datasets/"))
    for url in (
        "/datasets/oslo/study/",
        "/datasets/oslo/study/1/",
        "/datasets/oslo/study/1/export.csv",
        "/datasets/oslo/study/diff/?old=1&new=1",
    ):
        assert browser.get(url).status_code == 404, url
    assert AuditEntry.objects.filter(actor="berlin1", outcome="denied").count() == 4


def test_a_study_without_versions_is_not_found(reader: Client, site: Site) -> None:
    assert reader.get("/datasets/oslo/study/").status_code == 404
    assert reader.get(f"/datasets/oslo/{STUDY}/1/").status_code == 404
