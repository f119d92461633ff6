"""One project as its page shows it: the proposal that made it, its agreements, what blocks
extraction, and what the caller may do there."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from cohortvault.access.policy import Action, Area, Facility, Principal, decide
from cohortvault.consortium.models import Project
from cohortvault.projects.models import Agreement, Proposal
from cohortvault.projects.services.agreements import (
    agreement_is_valid,
    agreements_of,
    extraction_blockers,
    project_proposal,
)
from cohortvault.projects.services.common import proposal_for


@dataclass(frozen=True)
class AgreementRow:
    agreement: Agreement
    valid: bool
    documents: int


@dataclass(frozen=True)
class ProjectDetail:
    proposal: Proposal
    active: bool
    agreements: list[AgreementRow]
    blockers: list[str]
    may_record: bool  # the data manager records agreements
    may_read_documents: bool  # administrators and data managers
    may_close: bool  # the administrator, while it is active


def project_detail(principal: Principal, project_code: str) -> ProjectDetail:
    """The project page's content, for the people on its proposal, its members, and those who
    decide or provision projects; anyone else is answered as if it did not exist."""
    proposal = project_proposal(project_code)
    if not decide(principal, Action.READ, Area.project(project_code)):
        proposal = proposal_for(principal, proposal.pk, Action.READ)
    today = timezone.localdate()
    active = proposal.project is not None and proposal.project.status == Project.Status.ACTIVE
    rows = [
        AgreementRow(
            agreement=a, valid=agreement_is_valid(a, today), documents=len(a.documents.all())
        )
        for a in agreements_of(proposal)
    ]
    return ProjectDetail(
        proposal=proposal,
        active=active,
        agreements=rows,
        blockers=extraction_blockers(project_code, today=today),
        may_record=decide(principal, Action.WRITE, Facility.AGREEMENTS).allowed,
        may_read_documents=decide(principal, Action.READ, Facility.AGREEMENTS).allowed,
        may_close=active and decide(principal, Action.ADMINISTER, Facility.CONSORTIUM).allowed,
    )
