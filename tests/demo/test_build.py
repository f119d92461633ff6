"""The demo consortium: every role, several sites with waves, and working credentials."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from cohortvault.access.policy import Role
from cohortvault.consortium.models import Site
from cohortvault.demo import current_code
from cohortvault.demo.build import build

pytestmark = pytest.mark.django_db


@pytest.fixture
def credentials(tmp_path: Path) -> list[dict[str, object]]:
    return build(tmp_path)


def test_consortium_shape(credentials: list[dict[str, object]]) -> None:
    assert Site.objects.count() >= 4
    for site in Site.objects.all():
        studies = list(site.studies.all())
        assert studies and all(study.timepoints.count() >= 2 for study in studies)
    roles = {role for entry in credentials for role in entry["roles"]}  # type: ignore[attr-defined]
    assert roles == {role.value for role in Role}
    assert any(len(entry["sites"]) >= 2 for entry in credentials)  # type: ignore[arg-type]
    assert any(entry["sites"] and not entry["projects"] for entry in credentials)


def test_credentials_file_is_private(tmp_path: Path, credentials: list[dict[str, object]]) -> None:
    assert (tmp_path / "demo-credentials.json").stat().st_mode & 0o777 == 0o600


def test_every_demo_user_can_sign_in_with_the_credentials(
    credentials: list[dict[str, object]],
) -> None:
    for entry in credentials:
        client = Client()
        response = client.post(
            "/api/v1/auth/token",
            {
                "username": entry["username"],
                "password": entry["password"],
                "otp": current_code(str(entry["totp_secret"])),
            },
            content_type="application/json",
        )
        assert response.status_code == 200, entry["username"]
        me = client.get(
            "/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}"
        ).json()
        assert me["roles"] == entry["roles"]
        assert sorted(s["code"] for s in me["sites"]) == sorted(entry["sites"])  # type: ignore[arg-type]
