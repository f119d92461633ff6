"""An approved project over two sites with accepted dataset versions, built through the real
services: dictionary, dataset versions, proposal, the general assembly's decision, agreements."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pytest
from django.utils import timezone

from cohortvault.access.policy import Principal, Role
from cohortvault.catalog import services as catalog
from cohortvault.consortium.models import Project, Site
from cohortvault.datasets import services as datasets
from cohortvault.identity.models import User
from cohortvault.projects import services as projects
from tests import factories
from tests.imports.conftest import SCHEMA

CODE = "cohort-x"


@dataclass
class World:
    manager: Principal
    approver: Principal
    member: Principal
    member_user: User
    outsider: Principal

    def sign(self, *sites: str) -> None:
        for site in sites:
            projects.record_agreement(
                self.manager,
                CODE,
                site,
                projects.AgreementInput(status="signed", signed_on=timezone.localdate()),
            )


def table(site: str, scores: dict[str, int]) -> pa.Table:
    prefix = site[:3].upper()
    subjects = sorted(scores)
    return pa.table(
        {
            "subject_id": [f"{prefix}-{s}" for s in subjects],
            "timepoint": ["wave1"] * len(subjects),
            "site": [site] * len(subjects),
            "sex": ["F" if int(s) % 2 else "M" for s in subjects],
            "mmse": [str(scores[s]) for s in subjects],
            "hippocampus_ml": ["3.1"] * len(subjects),
        }
    )


@pytest.fixture
def world(site: Site, other_site: Site, data_manager: User, user: User) -> World:
    manager = factories.principal(data_manager)
    catalog.import_dictionary(manager, json.dumps(SCHEMA).encode(), format="json")
    dictionary = catalog.current()
    for code, scores in (("oslo", {"0001": 29, "0002": 25}), ("berlin", {"0001": 30})):
        datasets.create_version(
            manager, site=code, study="study", table=table(code, scores), dictionary=dictionary
        )
    approver_user = factories.make_user("approver1")
    factories.grant(approver_user, Role.APPROVER)
    researcher = factories.make_user("researcher")
    factories.enrol_totp(researcher)
    proposal = projects.create_proposal(
        factories.principal(researcher),
        projects.ProposalInput(
            title="Memory in two cohorts",
            code=CODE,
            principal_investigator="researcher",
            aims="Compare MMSE across sites.",
            variables=["sex", "mmse"],
            sites=["oslo", "berlin"],
            studies=["study"],
            timepoints=["wave1"],
        ),
    )
    projects.submit_proposal(factories.principal(researcher), proposal.pk)
    approver = factories.principal(approver_user)
    projects.decide_proposal(
        approver,
        proposal.pk,
        projects.DecisionInput(
            outcome="approved", meeting_date=timezone.localdate(), reference="GA-2026-7"
        ),
    )
    factories.grant(researcher, Role.PROJECT_MEMBER, project=Project.objects.get(code=CODE))
    return World(
        manager=manager,
        approver=approver,
        member=factories.principal(researcher),
        member_user=researcher,
        outsider=factories.principal(user),
    )


def new_oslo_version(world: World, scores: dict[str, int]) -> Any:
    return datasets.create_version(
        world.manager,
        site="oslo",
        study="study",
        table=table("oslo", scores),
        dictionary=catalog.current(),
    )
