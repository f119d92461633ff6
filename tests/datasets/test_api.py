"""The dataset routes of the REST API, through bearer tokens as scripts use them."""

from __future__ import annotations

import csv
import io
from typing import Any

import pyarrow.parquet as pq
import pytest
from django.test import Client

from cohortvault.access.policy import Principal, Role
from cohortvault.consortium.models import Site
from cohortvault.datasets import services
from cohortvault.identity import tokens
from cohortvault.identity.models import User
from tests import factories
from tests.datasets.conftest import ROWS, STUDY, dictionary, text_table

pytestmark = pytest.mark.django_db

API = "/api/v1/datasets"


def client_for(user: User, scope: str = "full") -> Client:
    secret = tokens.create_token(user, name=f"{scope} script", scope=scope).token
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


@pytest.fixture
def second(first: services.VersionInfo, manager: Principal) -> services.VersionInfo:
    edited = [dict(r) for r in ROWS]
    edited[0]["comment"] = "@mention"
    edited.append({"subject_id": "OSL-0003", "timepoint": "wave1", "site": "oslo"})
    return services.create_version(
        manager,
        site="oslo",
        study=STUDY,
        table=text_table(edited),
        dictionary=dictionary(),
        source="correction 4",
    )


def test_list_versions_and_one_version(site_member: User, second: services.VersionInfo) -> None:
    api = client_for(site_member, "read_only")
    [listed] = api.get(API).json()
    assert (listed["site"], listed["study"], listed["versions"]) == ("oslo", STUDY, 2)
    assert listed["latest"]["number"] == 2 and listed["latest"]["rows"] == 4
    versions = api.get(f"{API}/oslo/{STUDY}/versions").json()
    assert [v["number"] for v in versions] == [2, 1]
    one = api.get(f"{API}/oslo/{STUDY}/versions/1").json()
    assert one["source"] == "import 12: visit1.csv" and one["import_id"] == 12
    assert one["column_names"][:2] == ["subject_id", "timepoint"]
    assert one["dictionary_version"] == 3 and one["created_by"] == "dm1"


def test_exports_stream_csv_and_parquet(site_member: User, second: services.VersionInfo) -> None:
    api = client_for(site_member)
    as_csv = api.get(f"{API}/oslo/{STUDY}/versions/2/export")
    assert as_csv.status_code == 200 and as_csv["Content-Type"].startswith("text/csv")
    assert as_csv["Content-Disposition"] == 'attachment; filename="oslo-study-v2.csv"'
    assert as_csv["Cache-Control"] == "no-store"
    lines = list(csv.DictReader(io.StringIO(body(as_csv).decode())))
    assert [line["comment"] for line in lines] == ["-5", "", "'@mention", ""]
    as_parquet = api.get(f"{API}/oslo/{STUDY}/versions/2/export", {"format": "parquet"})
    content = body(as_parquet)
    assert int(as_parquet["Content-Length"]) == len(content) == second.size
    assert pq.read_table(io.BytesIO(content)).num_rows == 4
    assert api.get(f"{API}/oslo/{STUDY}/versions/2/export", {"format": "xlsx"}).status_code == 422


def test_diff_as_json_and_csv(data_manager: User, second: services.VersionInfo) -> None:
    api = client_for(data_manager)
    found = api.get(f"{API}/oslo/{STUDY}/diff", {"old": 1, "new": 2})
    assert found.status_code == 200, found.content
    data = found.json()
    assert data["rows_added"] == [{"subject_id": "OSL-0003", "timepoint": "wave1"}]
    assert data["changes"] == [
        {
            "subject_id": "OSL-0002",
            "timepoint": "wave1",
            "column": "comment",
            "old": "=HYPERLINK(1)",
            "new": "@mention",
        }
    ]
    assert data["totals"]["cells_changed"] == 1 and data["truncated"] is False
    as_csv = api.get(f"{API}/oslo/{STUDY}/diff", {"old": 1, "new": 2, "format": "csv"})
    assert as_csv["Content-Disposition"] == 'attachment; filename="oslo-study-v1-v2-diff.csv"'
    assert list(csv.reader(io.StringIO(body(as_csv).decode())))[1:] == [
        ["row added", "OSL-0003", "wave1", "", "", ""],
        ["changed", "OSL-0002", "wave1", "comment", "'=HYPERLINK(1)", "'@mention"],
    ]


def test_other_sites_and_strangers_get_not_found(
    first: services.VersionInfo, other_site: Site, user: User
) -> None:
    berliner = factories.make_user("berlin1")
    factories.grant(berliner, Role.SITE_MEMBER, site=other_site)
    for someone in (berliner, user):
        api = client_for(someone)
        assert api.get(API).json() == []
        for route in (
            f"/oslo/{STUDY}/versions",
            f"/oslo/{STUDY}/versions/1",
            f"/oslo/{STUDY}/versions/1/export",
            f"/oslo/{STUDY}/diff?old=1&new=1",
        ):
            refused = api.get(API + route)
            assert refused.status_code == 404, route
            assert refused.json()["error"]["code"] == "not_found"


def test_errors_share_the_one_shape(site_member: User, first: services.VersionInfo) -> None:
    api = client_for(site_member)
    missing = api.get(f"{API}/oslo/{STUDY}/versions/9")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "The dataset oslo/study has no version 9."
    assert api.get(f"{API}/oslo/nosuch/versions").status_code == 404
    assert api.get(f"{API}/oslo/{STUDY}/diff", {"old": 1}).json()["error"]["code"] == "invalid"
    assert Client().get(API).status_code == 401
