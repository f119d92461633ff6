"""Fixtures for the project lifecycle: a dictionary, two sites with a dataset each, the
people involved (author, PI, member, approver, data manager, administrator) and proposals at
each stage."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from django.utils import timezone

from cohortvault.access.policy import Principal, Role
from cohortvault.catalog import services as catalog
from cohortvault.consortium.models import Site
from cohortvault.datasets import services as datasets
from cohortvault.identity.models import User
from cohortvault.projects import services
from cohortvault.projects.models import Proposal
from tests import factories
from tests.datasets.conftest import text_table

SCHEMA: dict[str, Any] = {
    "fields": [
        {"name": "subject_id", "type": "string",
         "constraints": {"required": True, "pattern": "[A-Z]{3}-[0-9]{4}"},
         "cohortvault": {"identifier": True}},
        {"name": "timepoint", "type": "string", "constraints": {"required": True},
         "cohortvault": {"identifier": True}},
        {"name": "site", "type": "string", "constraints": {"required": True},
         "cohortvault": {"identifier": True}},
        {"name": "sex", "type": "string", "cohortvault": {"domain": "demographics"}},
        {"name": "mmse", "type": "integer", "missingValues": ["-99"],
         "cohortvault": {"domain": "cognition"}},
        {"name": "hippocampus_ml", "type": "number", "cohortvault": {"domain": "imaging"}},
    ],
    "missingValues": ["", "NA"],
}  # fmt: skip


def rows(site: str, mmse: list[str | None], timepoint: str = "wave1") -> list[dict[str, Any]]:
    prefix = site[:3].upper()
    return [
        {"subject_id": f"{prefix}-{n:04d}", "timepoint": timepoint, "site": site, "mmse": value}
        for n, value in enumerate(mmse, start=1)
    ]


def person(username: str, *roles: Role, site: Site | None = None) -> User:
    user = factories.make_user(username)
    factories.enrol_totp(user)
    for role in roles:
        factories.grant(user, role)
    if site is not None:
        factories.grant(user, Role.SITE_MEMBER, site=site)
    return user


@pytest.fixture
def oslo() -> Site:
    return factories.make_site("oslo")


@pytest.fixture
def berlin() -> Site:
    return factories.make_site("berlin")


@pytest.fixture
def manager(data_manager: User) -> Principal:
    return factories.principal(data_manager)


@pytest.fixture
def consortium(oslo: Site, berlin: Site, manager: Principal) -> None:
    """The dictionary, and a dataset at each site: Oslo has 6 subjects with an MMSE at wave1
    (a seventh has only the missing code -99, an eighth is seen at wave2 only); Berlin has 3."""
    catalog.import_dictionary(manager, json.dumps(SCHEMA).encode(), format="json")
    dictionary = catalog.current()
    oslo_rows = rows("oslo", ["28", "27", "30", "25", "29", "26", "-99"])
    oslo_rows.append({**rows("oslo", ["24"], "wave2")[0], "subject_id": "OSL-0099"})
    for site, table in (("oslo", oslo_rows), ("berlin", rows("berlin", ["28", None, "27", "29"]))):
        datasets.create_version(
            manager, site=site, study="study", table=text_table(table), dictionary=dictionary
        )


@pytest.fixture
def author(oslo: Site) -> User:
    return person("oslo-researcher", site=oslo)


@pytest.fixture
def pi(oslo: Site) -> User:
    return person("pi-ola", site=oslo)


@pytest.fixture
def member(berlin: Site) -> User:
    return person("berlin-jonas", site=berlin)


@pytest.fixture
def approver() -> User:
    return person("approver-olav", Role.APPROVER)


def proposal_input(**changes: Any) -> services.ProposalInput:
    values: dict[str, Any] = {
        "title": "Amyloid and cognition",
        "code": "amyloid",
        "principal_investigator": "pi-ola",
        "aims": "Relate cognition to ageing across sites.",
        "members": ["berlin-jonas"],
        "variables": ["mmse"],
        "sites": ["oslo", "berlin"],
        "studies": ["study"],
        "timepoints": ["wave1"],
        "modalities": ["T1w"],
    }
    values.update(changes)
    return services.ProposalInput(**values)


def approval(outcome: str = "approved", **changes: Any) -> services.DecisionInput:
    values: dict[str, Any] = {
        "outcome": outcome,
        "meeting_date": timezone.localdate(),
        "reference": "GA-2025-07",
    }
    values.update(changes)
    return services.DecisionInput(**values)


@pytest.fixture
def draft(consortium: None, author: User, pi: User, member: User) -> Proposal:
    return services.create_proposal(factories.principal(author), proposal_input())


@pytest.fixture
def submitted(draft: Proposal, author: User) -> Proposal:
    return services.submit_proposal(factories.principal(author), draft.pk)


@pytest.fixture
def approved(submitted: Proposal, approver: User) -> Proposal:
    return services.decide_proposal(factories.principal(approver), submitted.pk, approval())


def signed(expires_on: date | None = None) -> services.AgreementInput:
    return services.AgreementInput(
        status="signed", signed_on=timezone.localdate(), expires_on=expires_on
    )


PDF = b"%PDF-1.4\n% a signed agreement\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
