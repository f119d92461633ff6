"""Fixtures for imports: a small dictionary, uploads into a site's import area that are
checked at once (as with `quality_check_interval = 0`), and the people involved."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest

from cohortvault.access.policy import Principal, Role
from cohortvault.catalog import services as catalog
from cohortvault.consortium.models import Site
from cohortvault.files import services as files
from cohortvault.identity.models import User
from cohortvault.imports.models import Import
from tests import factories

SCHEMA: dict[str, Any] = {
    "fields": [
        {"name": "subject_id", "type": "string",
         "constraints": {"required": True, "pattern": "[A-Z]{3}-[0-9]{4}"},
         "cohortvault": {"identifier": True}},
        {"name": "timepoint", "type": "string", "constraints": {"required": True},
         "cohortvault": {"identifier": True}},
        {"name": "site", "type": "string", "constraints": {"required": True},
         "cohortvault": {"identifier": True}},
        {"name": "sex", "type": "string", "constraints": {"enum": ["F", "M"]}},
        {"name": "mmse", "type": "integer", "constraints": {"minimum": 0, "maximum": 30},
         "missingValues": ["", "-99"]},
        {"name": "hippocampus_ml", "type": "number",
         "constraints": {"minimum": 1, "maximum": 8}},
    ],
    "missingValues": [""],
}  # fmt: skip

CLEAN = (
    "subject_id,timepoint,site,sex,mmse,hippocampus_ml\n"
    "OSL-0001,wave1,oslo,F,29,3.4\n"
    "OSL-0002,wave1,oslo,M,-99,3.1\n"
    "OSL-0003,wave1,oslo,F,27,2.9\n"
)


@pytest.fixture(autouse=True)
def _check_at_once(settings: Any) -> None:
    settings.COHORTVAULT_QUALITY_CHECK_INTERVAL = 0


@pytest.fixture
def manager(data_manager: User) -> Principal:
    return factories.principal(data_manager)


@pytest.fixture
def dictionary(manager: Principal) -> int:
    created = catalog.import_dictionary(manager, json.dumps(SCHEMA).encode(), format="json")
    return created.number


@pytest.fixture
def member(site_member: User) -> Principal:
    return factories.principal(site_member)


@pytest.fixture
def colleague(site: Site) -> User:
    """A second member of the same site, who did not upload."""
    user = factories.make_user("oslo2")
    factories.enrol_totp(user)
    factories.grant(user, Role.SITE_MEMBER, site=site)
    return user


Upload = Callable[..., Import]


@pytest.fixture
def upload(django_capture_on_commit_callbacks: Any, dictionary: int, member: Principal) -> Upload:
    """Store a file in oslo's import area (by default as the site member) and check it."""

    def put(
        content: str | bytes, name: str = "study/visit.csv", *, who: Principal | None = None
    ) -> Import:
        data = content.encode() if isinstance(content, str) else content
        with django_capture_on_commit_callbacks(execute=True):
            files.write_file(who or member, f"sites/oslo/import/{name}", io.BytesIO(data))
        return Import.objects.latest("pk")

    return put
