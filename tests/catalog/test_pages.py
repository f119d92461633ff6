"""The dictionary pages: search and filters, versions and their changes, downloads, and the
data manager's import form with its error listing."""

from __future__ import annotations

import dataclasses
import io
import re
from typing import Any

import openpyxl
import pytest
from django.test import Client

from cohortvault.access.policy import Principal
from cohortvault.audit.models import AuditEntry
from cohortvault.catalog import services
from cohortvault.catalog.models import DictionaryVersion
from cohortvault.catalog.schema import Dictionary
from cohortvault.identity.models import User
from tests import factories

pytestmark = pytest.mark.django_db


def text(response: Any) -> str:
    assert response.status_code in (200, 409, 422), response.status_code
    return str(response.content.decode())


def variable_rows(page: str) -> list[str]:
    return re.findall(r'<tr id="var-([a-z0-9_]+)">', page)


def upload(client: Client, name: str, data: bytes, **fields: str) -> Any:
    file = io.BytesIO(data)
    file.name = name
    return client.post("/dictionary/import/", {"file": file, **fields})


@pytest.fixture
def reader(user: User, imported: services.VersionInfo) -> Client:
    return factories.signed_in_client(user)


@pytest.fixture
def manager_client(data_manager: User) -> Client:
    return factories.signed_in_client(data_manager)


def test_everyone_sees_the_current_dictionary(reader: Client) -> None:
    page = text(reader.get("/dictionary/"))
    assert len(variable_rows(page)) == 51
    assert "51 of 51 variables." in page
    assert "Current version" in page and "imported by dm1" in page
    mmse = page[page.index('<tr id="var-mmse">') :]
    mmse = mmse[: mmse.index("</tr>")]
    assert (
        "Mini-Mental State Examination" in mmse
        and "0–30" in mmse
        and "&quot;&quot;, -99, -88" in mmse
    )
    clock = page[page.index('<tr id="var-clock_drawing">') :]
    assert "<code>5</code> Perfect clock" in clock[: clock.index("</tr>")]
    assert 'id="import"' not in page  # only the data manager imports
    for fmt in ("json", "csv", "xlsx"):
        assert f'href="/dictionary/versions/1/data-dictionary.{fmt}"' in page


def test_search_and_filters(reader: Client) -> None:
    page = text(reader.get("/dictionary/", {"q": "hippocampal"}))
    assert variable_rows(page) == ["hippocampus_left_ml", "hippocampus_right_ml"]
    assert "2 of 51 variables match." in page
    page = text(reader.get("/dictionary/", {"q": "", "domain": "mri-derived"}))
    assert len(variable_rows(page)) == 16
    page = text(reader.get("/dictionary/", {"domain": "clinical", "sensitivity": "sensitive"}))
    assert variable_rows(page)[:2] == ["diagnosis", "cdr_global"]
    page = text(reader.get("/dictionary/", {"q": "no such thing"}))
    assert "No variable matches." in page
    page = text(reader.get("/dictionary/", {"domain": "<script>"}))  # not a choice: ignored
    assert len(variable_rows(page)) == 51 and "<script>" not in page


def test_the_pages_need_no_inline_script_or_style(reader: Client, data_manager: User) -> None:
    for client, path in (
        (reader, "/dictionary/"),
        (reader, "/dictionary/versions/1/"),
        (factories.signed_in_client(data_manager), "/dictionary/"),
    ):
        response = client.get(path)
        page = text(response)
        assert "style=" not in page and "<style" not in page
        assert "<script>" not in page and " on" + "click=" not in page
        assert "unsafe-inline" not in response["Content-Security-Policy"]


def test_downloads(reader: Client, demo: Dictionary) -> None:
    csv_file = reader.get("/dictionary/versions/1/data-dictionary.csv")
    assert csv_file["Content-Type"] == "text/csv; charset=utf-8"
    assert csv_file["Content-Disposition"] == 'attachment; filename="data-dictionary-v1.csv"'
    assert csv_file.content == services.export_dictionary(1, "csv")
    workbook = reader.get("/dictionary/versions/1/data-dictionary.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(workbook.content))
    assert book["dictionary"]["A1"].value == "name"
    schema = reader.get("/dictionary/versions/1/data-dictionary.json").json()
    assert schema == dataclasses.replace(demo, version=1).to_table_schema()
    assert reader.get("/dictionary/versions/1/data-dictionary.docx").status_code == 422
    assert reader.get("/dictionary/versions/9/data-dictionary.csv").status_code == 404


def test_empty_state_before_the_first_import(user: User, data_manager: User) -> None:
    page = text(factories.signed_in_client(user).get("/dictionary/"))
    assert "No data dictionary has been imported yet." in page and 'id="import"' not in page
    page = text(factories.signed_in_client(data_manager).get("/dictionary/"))
    assert "Import the first version below." in page and 'id="import"' in page


def test_the_data_manager_imports_a_new_version(
    manager_client: Client, imported: services.VersionInfo, demo: Dictionary
) -> None:
    second = dataclasses.replace(
        demo,
        variables=tuple(
            dataclasses.replace(v, maximum=35.0) if v.name == "education_years" else v
            for v in demo.variables
            if v.name != "handedness"
        ),
    )
    response = upload(
        manager_client, "dictionary v2.csv", services.file_of(second, "csv"), note="fewer"
    )
    assert response.status_code == 302 and response.url == "/dictionary/versions/2/"
    page = text(manager_client.get(response.url))
    assert "Stored version 2 of the data dictionary (50 variables)" in page
    assert "Changes from version 1 to version 2: 1 removed, 1 changed" in page
    removed = page[page.index('id="removed"') :]
    assert "<code>handedness</code>" in removed[: removed.index("</table>")]
    changed = page[page.index('id="changed"') :]
    assert "education_years" in changed and "<td>maximum</td>" in changed
    assert '<td class="prose">30</td><td class="prose">35</td>' in changed
    listing = text(manager_client.get("/dictionary/"))
    assert "1 removed, 1 changed" in listing and '<td class="prose">fewer</td>' in listing
    older = text(manager_client.get("/dictionary/", {"version": 1}))
    assert "Version 1, not the current one" in older and len(variable_rows(older)) == 51
    again = text(manager_client.get("/dictionary/versions/2/", {"against": 2}))
    assert "no changes" in again
    assert manager_client.get("/dictionary/versions/2/", {"against": 7}).status_code == 404
    first = text(manager_client.get("/dictionary/versions/1/"))
    assert "This is the first version; there is nothing to compare it with." in first
    backwards = text(manager_client.get("/dictionary/versions/1/", {"against": 2}))
    assert "Changes from version 2 to version 1: 1 added, 1 changed" in backwards


def test_import_errors_are_listed_and_nothing_is_stored(
    manager_client: Client, imported: services.VersionInfo
) -> None:
    rows = ["name,type,minimum,maximum", "subject_id,string,,", "mmse,integer,40,30"]
    bad = "\n".join([*rows, "mmse,integr,,", ""]).encode()
    response = upload(manager_client, "bad.csv", bad)
    page = text(response)
    assert response.status_code == 422
    assert "The dictionary has 7 problems; nothing was stored." in page
    assert "<strong>row 3, mmse, minimum</strong>: 40 is greater than the maximum 30" in page
    assert "<strong>row 4, mmse, type</strong>:" in page
    assert "<strong>timepoint</strong>: The identifier column timepoint must be defined." in page
    assert DictionaryVersion.objects.count() == 1


def test_import_form_mistakes(manager_client: Client, imported: services.VersionInfo) -> None:
    response = manager_client.post("/dictionary/import/", {"note": "no file"})
    assert response.status_code == 422
    assert "<strong>form, file</strong>: This field is required." in text(response)
    response = upload(manager_client, "dictionary.docx", b"PK")
    assert "not a dictionary format" in text(response)
    same = services.export_dictionary(1, "xlsx")
    response = upload(manager_client, "same.xlsx", same)
    assert response.status_code == 409
    assert "identical to version 1; nothing was stored" in text(response)


def test_uploads_larger_than_the_limit_are_refused_unread(manager_client: Client) -> None:
    big = b"x" * (services.MAX_DICTIONARY_BYTES + 100 * 1024)
    response = upload(manager_client, "big.json", big)
    assert response.status_code == 422
    assert "A dictionary file is at most 4 MiB." in response.content.decode()
    assert not DictionaryVersion.objects.exists()


def test_the_import_needs_the_csrf_token(data_manager: User, demo: Dictionary) -> None:
    client = factories.signed_in_client(data_manager, enforce_csrf_checks=True)
    response = upload(client, "d.json", services.file_of(demo, "json"))
    assert response.status_code == 403
    assert not DictionaryVersion.objects.exists()


def test_a_site_member_cannot_import(site_member: User, demo: Dictionary) -> None:
    client = factories.signed_in_client(site_member)
    assert 'id="import"' not in text(client.get("/dictionary/"))
    response = upload(client, "d.json", services.file_of(demo, "json"))
    assert response.status_code == 403
    assert "Only the data manager changes the data dictionary" in response.content.decode()
    assert not DictionaryVersion.objects.exists()
    denied = AuditEntry.objects.filter(action="access.write", outcome="denied", actor="oslo1")
    assert denied.get().target == "data dictionary"


def test_anonymous_visitors_sign_in_first(client: Client) -> None:
    response = client.get("/dictionary/")
    assert response.status_code == 302 and response.url.startswith("/login/")
    response = client.get("/dictionary/versions/1/data-dictionary.csv")
    assert response.status_code == 302


def test_the_menu_links_to_the_dictionary(reader: Client) -> None:
    assert '<a href="/dictionary/">Dictionary</a>' in text(reader.get("/"))


def test_a_principal_fixture_is_a_principal(manager: Principal) -> None:
    assert manager.username == "dm1"
