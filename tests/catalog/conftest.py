"""Fixtures for the data dictionary: small dictionaries as files, and an imported version."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cohortvault.access.policy import Principal
from cohortvault.catalog import services
from cohortvault.catalog.schema import Dictionary
from cohortvault.demo.dictionary import dictionary as demo_dictionary
from cohortvault.identity.models import User
from tests import factories

IDENTIFIER_FIELDS: list[dict[str, Any]] = [
    {
        "name": "subject_id",
        "type": "string",
        "title": "Subject ID",
        "constraints": {"required": True, "pattern": "[A-Z]{3}-[0-9]{4}"},
        "cohortvault": {"identifier": True, "sensitivity": "identifying"},
    },
    {"name": "timepoint", "type": "string", "constraints": {"required": True}},
    {"name": "site", "type": "string", "constraints": {"required": True}},
]

MMSE: dict[str, Any] = {
    "name": "mmse",
    "type": "integer",
    "title": "Mini-Mental State Examination",
    "description": "Total score.",
    "constraints": {"minimum": 0, "maximum": 30},
    "missingValues": ["", "-99"],
    "cohortvault": {"unit": "points", "domain": "cognition"},
}


def schema_with(*fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"fields": [*IDENTIFIER_FIELDS, *fields], **extra}


def as_json(schema: dict[str, Any]) -> bytes:
    return json.dumps(schema).encode("utf-8")


@pytest.fixture
def demo() -> Dictionary:
    return demo_dictionary()


@pytest.fixture
def manager(data_manager: User) -> Principal:
    return factories.principal(data_manager)


@pytest.fixture
def member(site_member: User) -> Principal:
    return factories.principal(site_member)


@pytest.fixture
def imported(manager: Principal, demo: Dictionary) -> services.VersionInfo:
    """The demo dictionary, imported as version 1 by the data manager."""
    data = services.file_of(demo, "json")
    return services.import_dictionary(manager, data, format="json", note="first version")
