"""The whole two-stage flow through the REST API (upload with the file route, report as JSON
and CSV, accept and reject) and through the pages (queue, report, picture, decision forms)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client

from cohortvault.identity import tokens
from cohortvault.identity.models import User
from cohortvault.imports.models import Import
from tests import factories
from tests.imports.conftest import CLEAN, Upload

pytestmark = pytest.mark.django_db
API = "/api/v1"


def bearer(user: User, scope: str = "full") -> Client:
    secret = tokens.create_token(user, name=f"{scope} script", scope=scope).token
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_upload_report_and_accept_through_the_api(
    site_member: User,
    data_manager: User,
    dictionary: int,
    django_capture_on_commit_callbacks: Any,
) -> None:
    uploader, manager = bearer(site_member), bearer(data_manager)
    bad = CLEAN.replace(",29,", ",31,")
    with django_capture_on_commit_callbacks(execute=True):
        response = uploader.put(
            f"{API}/files/sites/oslo/import/study/visit.csv", bad, content_type="text/csv"
        )
    assert response.status_code == 201, response.content
    listed = uploader.get(f"{API}/imports").json()
    assert [(i["filename"], i["state"], i["errors"]) for i in listed] == [
        ("visit.csv", "checked", 1)
    ]
    import_id = listed[0]["id"]
    report = uploader.get(f"{API}/imports/{import_id}/report").json()
    assert report["ok"] is False and report["detected"]["delimiter"] == ","
    assert [f["check"] for f in report["findings"] if f["severity"] == "error"] == ["range"]
    rows = list(csv.DictReader(io.StringIO(uploader.get(
        f"{API}/imports/{import_id}/report", {"format": "csv"}).content.decode())))  # fmt: skip
    assert rows[0]["check"] == "range" and rows[0]["column"] == "mmse" and rows[0]["row"] == "2"
    refused = manager.post(
        f"{API}/imports/{import_id}/accept", {"reason": "x"}, content_type="application/json"
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "conflict"
    by_member = uploader.post(
        f"{API}/imports/{import_id}/reject", {"reason": "x"}, content_type="application/json"
    )
    assert by_member.status_code == 403
    rejected = manager.post(
        f"{API}/imports/{import_id}/reject",
        {"reason": "MMSE of 31"},
        content_type="application/json",
    )
    assert rejected.json()["state"] == "rejected"

    with django_capture_on_commit_callbacks(execute=True):
        uploader.put(
            f"{API}/files/sites/oslo/import/study/visit.csv", CLEAN, content_type="text/csv"
        )
    pending = manager.get(f"{API}/imports", {"state": "pending"}).json()
    assert len(pending) == 1 and pending[0]["acceptable"] is True
    accepted = manager.post(
        f"{API}/imports/{pending[0]['id']}/accept", {"reason": ""}, content_type="application/json"
    ).json()
    assert accepted["state"] == "accepted" and accepted["dataset_version"] == 1


def test_a_read_only_token_cannot_decide(upload: Upload, data_manager: User) -> None:
    row = upload(CLEAN)
    response = bearer(data_manager, "read_only").post(
        f"{API}/imports/{row.pk}/accept", {"reason": ""}, content_type="application/json"
    )
    assert response.status_code == 403
    assert Import.objects.get(pk=row.pk).state == Import.State.CHECKED


def test_unknown_import_and_bad_state_filter(site_member: User) -> None:
    client = bearer(site_member)
    assert client.get(f"{API}/imports/999").status_code == 404
    assert client.get(f"{API}/imports", {"state": "nonsense"}).status_code == 422


def test_the_pages(upload: Upload, site_member: User, data_manager: User) -> None:
    row = upload(CLEAN.replace("hippocampus_ml", "email").replace(",3.4", ",kari@example.org"))
    member_page = factories.signed_in_client(site_member).get(f"/imports/{row.pk}/")
    text = member_page.content.decode()
    assert member_page.status_code == 200
    assert 'id="locked"' in text and "kari@example.org" not in text
    assert 'id="decide"' not in text
    manager = factories.signed_in_client(data_manager)
    queue = manager.get("/imports/").content.decode()
    assert f'href="/imports/{row.pk}/"' in queue and "personal data" in queue
    page = manager.get(f"/imports/{row.pk}/").content.decode()
    assert 'id="reject-form"' in page and 'id="accept-form"' not in page
    svg = manager.get(f"/imports/{row.pk}/missingness.svg")
    assert svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content
    assert b"<script" not in svg.content
    download = manager.get(f"/imports/{row.pk}/report.csv")
    assert download["Content-Disposition"].startswith("attachment")
    assert manager.get(f"/imports/{row.pk}/report.json").json()["personal_data"] is True
    response = manager.post(f"/imports/{row.pk}/reject/", {"reason": "e-mail addresses"})
    assert response.status_code == 302
    assert Import.objects.get(pk=row.pk).state == Import.State.REJECTED


def test_accepting_from_the_page(upload: Upload, data_manager: User, site_member: User) -> None:
    row = upload(CLEAN)
    manager = factories.signed_in_client(data_manager)
    response = manager.post(f"/imports/{row.pk}/accept/", {"reason": ""}, follow=True)
    assert "Accepted: version 1 of oslo/study" in response.content.decode()
    refused = factories.signed_in_client(site_member).post(f"/imports/{row.pk}/accept/", {})
    assert refused.status_code == 403
