"""The dictionary routes of the REST API, through bearer tokens as scripts use them."""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import openpyxl
import pytest
from django.test import Client

from cohortvault.audit.models import AuditEntry
from cohortvault.catalog import services
from cohortvault.catalog.models import DictionaryVersion
from cohortvault.catalog.schema import Dictionary
from cohortvault.identity import tokens
from cohortvault.identity.models import User
from tests.catalog.conftest import MMSE, as_json, schema_with

pytestmark = pytest.mark.django_db

API = "/api/v1/dictionary"


def client_for(user: User, scope: str = "full") -> Client:
    secret = tokens.create_token(user, name=f"{scope} script", scope=scope).token
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def post(client: Client, data: bytes, content_type: str, **query: str) -> Any:
    suffix = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    return client.post(API + suffix, data, content_type=content_type)


def test_read_routes(user: User, imported: services.VersionInfo, demo: Dictionary) -> None:
    api = client_for(user, "read_only")
    current = api.get(API)
    assert current.status_code == 200
    assert current.json() == dataclasses.replace(demo, version=1).to_table_schema()
    [version] = api.get(f"{API}/versions").json()
    assert version["number"] == 1 and version["created_by"] == "dm1"
    assert version["variables"] == 51 and version["checksum"] == imported.checksum
    as_json_body = api.get(f"{API}/versions/1")
    assert as_json_body["Content-Type"] == "application/json"
    assert as_json_body.json()["fields"][0]["name"] == "subject_id"
    as_csv = api.get(f"{API}/versions/1", {"format": "csv"})
    assert as_csv.content == services.export_dictionary(1, "csv")
    assert as_csv["Content-Disposition"] == 'attachment; filename="data-dictionary-v1.csv"'
    as_xlsx = api.get(f"{API}/versions/1", {"format": "xlsx"})
    assert openpyxl.load_workbook(io.BytesIO(as_xlsx.content))["dictionary"]["B2"].value == "string"


def test_errors_share_the_one_shape(user: User, imported: services.VersionInfo) -> None:
    api = client_for(user)
    missing = api.get(f"{API}/versions/5")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "The data dictionary has no version 5."
    assert api.get(f"{API}/versions/1", {"format": "docx"}).status_code == 422
    assert api.get(f"{API}/diff", {"a": 1}).json()["error"]["code"] == "invalid"


def test_import_diff_and_refusals(data_manager: User, imported: services.VersionInfo) -> None:
    api = client_for(data_manager)
    csv_body = services.export_dictionary(1, "csv").replace(b"Handedness", b"Hand preference")
    created = post(api, csv_body, "text/csv", note="relabelled")
    assert created.status_code == 201, created.content
    assert created.json()["number"] == 2 and created.json()["note"] == "relabelled"
    diff = api.get(f"{API}/diff", {"a": 1, "b": 2}).json()
    assert diff == {
        "old": 1,
        "new": 2,
        "added": [],
        "removed": [],
        "reordered": False,
        "changed": [
            {
                "name": "handedness",
                "properties": [
                    {"property": "label", "old": "Handedness", "new": "Hand preference"}
                ],
            }
        ],
    }
    xlsx = services.export_dictionary(1, "xlsx")
    third = post(api, xlsx, "application/octet-stream", format="xlsx")
    assert third.status_code == 201 and third.json()["number"] == 3
    same = post(api, xlsx, services.Format.XLSX.media_type)
    assert same.status_code == 409
    unknown = post(api, b"{}", "application/octet-stream")
    assert unknown.status_code == 422
    assert "Say which format" in unknown.json()["error"]["message"]


def test_an_invalid_dictionary_lists_its_problems(data_manager: User) -> None:
    api = client_for(data_manager)
    bad = as_json(schema_with(dict(MMSE, type="integr"), dict(MMSE, title="again")))
    response = post(api, bad, "application/json")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["message"] == "The dictionary has 2 problems; nothing was stored."
    assert error["details"][0]["location"] == "field 4"
    assert error["details"][0]["property"] == "type"
    assert error["details"][1]["message"] == "mmse is defined twice (also at field 4)"
    assert not DictionaryVersion.objects.exists()


def test_too_large_a_body_is_refused(data_manager: User) -> None:
    api = client_for(data_manager)
    response = post(api, b" " * (services.MAX_DICTIONARY_BYTES + 1), "application/json")
    assert response.status_code == 422
    assert not DictionaryVersion.objects.exists()


@pytest.mark.parametrize("who", ["site_member", "user", "administrator"])
def test_only_the_data_manager_imports(
    who: str, request: pytest.FixtureRequest, demo: Dictionary
) -> None:
    api = client_for(request.getfixturevalue(who))
    response = post(api, services.file_of(demo, "json"), "application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not DictionaryVersion.objects.exists()
    assert AuditEntry.objects.filter(action="access.write", outcome="denied").exists()


def test_a_read_only_token_of_the_data_manager_cannot_import(
    data_manager: User, demo: Dictionary
) -> None:
    api = client_for(data_manager, "read_only")
    response = post(api, services.file_of(demo, "json"), "application/json")
    assert response.status_code == 403
    assert "read-only token" in response.json()["error"]["message"]


def test_before_the_first_import(user: User) -> None:
    response = client_for(user).get(API)
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "No data dictionary has been imported yet."
    assert client_for(user).get(f"{API}/versions").json() == []
