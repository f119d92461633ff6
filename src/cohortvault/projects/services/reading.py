"""Reading proposals: the lists (mine, awaiting a decision, all I may see), one proposal with
what the caller may do with it, its history, and what the forms offer to choose from."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.db.models import Q, QuerySet

from cohortvault.access.policy import Action, Principal, decide
from cohortvault.catalog import services as catalog
from cohortvault.catalog.schema import IDENTIFIERS, Variable
from cohortvault.consortium.models import Site, Study
from cohortvault.errors import NotFound
from cohortvault.projects.models import Proposal, ProposalEvent
from cohortvault.projects.services.common import policy_request, proposal_for, visible_proposals


class View(StrEnum):
    MINE = "mine"  # I wrote it, or I am its PI or a member
    AWAITING = "awaiting"  # submitted, and I may take the decision
    ALL = "all"  # everything I may see


def proposals(principal: Principal, view: View | str = View.ALL) -> list[Proposal]:
    """Proposals for one of the list's tabs, most recently changed first."""
    chosen = View(view)
    rows: QuerySet[Proposal] = visible_proposals(principal)
    me = principal.user_id or -1
    if chosen is View.MINE:
        mine = Q(author_id=me) | Q(principal_investigator_id=me) | Q(members__id=me)
        rows = rows.filter(mine).distinct()
    elif chosen is View.AWAITING:
        waiting = rows.filter(state=Proposal.State.SUBMITTED).prefetch_related("members")
        return [p for p in waiting if decide(principal, Action.APPROVE, policy_request(p))]
    return list(rows.prefetch_related("members"))


@dataclass(frozen=True)
class ProposalDetail:
    proposal: Proposal
    members: list[str]
    may_edit: bool  # the author, while it is a draft
    may_withdraw: bool
    may_decide: bool  # an approver who is not on it, while it is submitted
    may_notify: bool  # an approver, once it is approved and the data managers not yet told
    decide_refusal: str  # why the caller may not decide, for approvers named on it


def proposal_detail(principal: Principal, proposal_id: int) -> ProposalDetail:
    """One proposal with what the caller may do with it; looks missing to others."""
    proposal = proposal_for(principal, proposal_id, Action.READ)
    request = policy_request(proposal)
    writable = decide(principal, Action.WRITE, request).allowed
    approving = decide(principal, Action.APPROVE, request)
    state = Proposal.State
    return ProposalDetail(
        proposal=proposal,
        members=sorted(request.concerns),
        may_edit=writable and proposal.state == state.DRAFT,
        may_withdraw=writable and proposal.state in (state.DRAFT, state.SUBMITTED),
        may_decide=approving.allowed and proposal.state == state.SUBMITTED,
        may_notify=approving.allowed
        and proposal.state == state.APPROVED
        and proposal.data_manager_notified_at is None,
        decide_refusal="" if approving.allowed else approving.reason,
    )


def history(principal: Principal, proposal_id: int) -> tuple[Proposal, list[ProposalEvent]]:
    """A proposal and every change of it, oldest first."""
    proposal = proposal_for(principal, proposal_id, Action.READ)
    return proposal, list(proposal.events.select_related("actor"))


@dataclass(frozen=True)
class Choices:
    """What the proposal form offers: variables by domain, sites with their studies and
    timepoints. Empty variables before the first dictionary."""

    dictionary_version: int | None
    domains: dict[str, list[Variable]]
    sites: list[Site]
    studies: list[tuple[str, str]]  # (code, "name (site, …)")
    timepoints: list[tuple[str, str]]  # (code, "site/study, …")


def choices() -> Choices:
    try:
        dictionary = catalog.current()
    except NotFound:
        version, variables = None, []
    else:
        version = dictionary.version
        variables = [v for v in dictionary.variables if v.name not in IDENTIFIERS]
    domains: dict[str, list[Variable]] = {}
    for variable in sorted(variables, key=lambda v: (v.domain or "~", v.name)):
        domains.setdefault(variable.domain or "other", []).append(variable)
    studies: dict[str, list[str]] = {}
    timepoints: dict[str, list[str]] = {}
    for study in Study.objects.select_related("site").prefetch_related("timepoints"):
        studies.setdefault(study.code, []).append(f"{study.name} ({study.site.code})")
        for timepoint in study.timepoints.all():
            timepoints.setdefault(timepoint.code, []).append(f"{study.site.code}/{study.code}")
    return Choices(
        dictionary_version=version,
        domains=domains,
        sites=list(Site.objects.all()),
        studies=[(code, "; ".join(where)) for code, where in sorted(studies.items())],
        timepoints=[(code, ", ".join(where)) for code, where in sorted(timepoints.items())],
    )
