"""Proposal routes under ``/proposals``: draft, edit, submit, withdraw, the assembly's decision,
the notice to data managers, history and availability. Every route calls one service
function."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Schema
from ninja.responses import Status
from pydantic import Field

from cohortvault.access.policy import Action
from cohortvault.access.requirements import requires
from cohortvault.projects import services
from cohortvault.projects.api.common import principal, router
from cohortvault.projects.models import Proposal, ProposalEvent

Names = Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=1000)]


class ProposalIn(Schema):
    title: Annotated[str, Field(max_length=300)]
    code: Annotated[str, Field(max_length=40)]
    principal_investigator: Annotated[str, Field(max_length=150)]
    aims: Annotated[str, Field(max_length=20_000)] = ""
    members: Names = Field(default_factory=list)
    variables: Names = Field(default_factory=list)
    sites: Names = Field(default_factory=list)
    studies: Names = Field(default_factory=list)
    timepoints: Names = Field(default_factory=list)
    modalities: Names = Field(default_factory=list)

    def data(self) -> services.ProposalInput:
        return services.ProposalInput(**self.dict())


class ProposalOut(Schema):
    id: int
    title: str
    code: str
    aims: str
    state: str
    author: str
    principal_investigator: str
    members: list[str]
    variables: list[str]
    sites: list[str]
    studies: list[str]
    timepoints: list[str]
    modalities: list[str]
    dictionary_version: int | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    outcome: str
    conditions: str
    decision_reason: str
    meeting_date: date | None
    reference: str
    decided_by: str
    decided_at: datetime | None
    data_manager_notified_at: datetime | None
    project: str | None


def proposal_out(proposal: Proposal) -> dict[str, Any]:
    plain = ProposalOut.model_fields.keys() - {
        "author",
        "principal_investigator",
        "members",
        "decided_by",
        "project",
    }
    return {
        **{name: getattr(proposal, name) for name in plain},
        "author": proposal.author.get_username(),
        "principal_investigator": proposal.principal_investigator.get_username(),
        "members": sorted(m.get_username() for m in proposal.members.all()),
        "decided_by": proposal.decided_by.get_username() if proposal.decided_by else "",
        "project": proposal.project.code if proposal.project else None,
    }


@router.get("/proposals", response=list[ProposalOut])
@requires(action=Action.LIST, resource="proposals")
def list_proposals(request: HttpRequest, view: services.View = services.View.ALL) -> list[Any]:
    """Proposals I may see: ``mine`` (I wrote it or am on it), ``awaiting`` (my decision)."""
    return [proposal_out(p) for p in services.proposals(principal(request), view)]


@router.post("/proposals", response={201: ProposalOut})
@requires(action=Action.WRITE, resource="proposal")
def create_proposal(request: HttpRequest, payload: ProposalIn) -> Status[dict[str, Any]]:
    """Draft a proposal; you become its author."""
    proposal = services.create_proposal(principal(request), payload.data())
    return Status(201, proposal_out(proposal))


@router.get("/proposals/{proposal_id}", response=ProposalOut)
@requires(action=Action.READ, resource="proposal")
def get_proposal(request: HttpRequest, proposal_id: int) -> dict[str, Any]:
    return proposal_out(services.proposal_detail(principal(request), proposal_id).proposal)


@router.put("/proposals/{proposal_id}", response=ProposalOut)
@requires(action=Action.WRITE, resource="proposal")
def update_proposal(request: HttpRequest, proposal_id: int, payload: ProposalIn) -> Any:
    """Replace a draft's content (its author, while it is a draft)."""
    return proposal_out(services.update_proposal(principal(request), proposal_id, payload.data()))


@router.post("/proposals/{proposal_id}/submit", response=ProposalOut)
@requires(action=Action.WRITE, resource="proposal")
def submit_proposal(request: HttpRequest, proposal_id: int) -> dict[str, Any]:
    """Send a complete draft to the general assembly; it is frozen from then on."""
    return proposal_out(services.submit_proposal(principal(request), proposal_id))


class ReasonIn(Schema):
    reason: Annotated[str, Field(max_length=2000)] = ""


@router.post("/proposals/{proposal_id}/withdraw", response=ProposalOut)
@requires(action=Action.WRITE, resource="proposal")
def withdraw_proposal(request: HttpRequest, proposal_id: int, payload: ReasonIn) -> Any:
    found = services.withdraw_proposal(principal(request), proposal_id, reason=payload.reason)
    return proposal_out(found)


class DecisionIn(Schema):
    outcome: Proposal.Outcome
    meeting_date: date | None = None
    reference: Annotated[str, Field(max_length=200)] = ""
    conditions: Annotated[str, Field(max_length=5000)] = ""
    reason: Annotated[str, Field(max_length=5000)] = ""


@router.post("/proposals/{proposal_id}/decision", response=ProposalOut)
@requires(action=Action.APPROVE, resource="proposal")
def decide_proposal(request: HttpRequest, proposal_id: int, payload: DecisionIn) -> Any:
    """Record the general assembly's decision (an approver not named on the proposal). An
    approval creates the project and files access requests for its people."""
    decision = services.DecisionInput(**payload.dict())
    return proposal_out(services.decide_proposal(principal(request), proposal_id, decision))


class NoteIn(Schema):
    note: Annotated[str, Field(max_length=2000)] = ""


@router.post("/proposals/{proposal_id}/notify-data-manager", response=ProposalOut)
@requires(action=Action.APPROVE, resource="proposal")
def notify_data_manager(request: HttpRequest, proposal_id: int, payload: NoteIn) -> Any:
    """The knowledge-management committee's notice to every data manager (once)."""
    found = services.notify_data_manager(principal(request), proposal_id, note=payload.note)
    return proposal_out(found)


class EventOut(Schema):
    action: str
    from_state: str
    to_state: str
    actor: str
    at: datetime
    reason: str


def event_out(event: ProposalEvent) -> dict[str, Any]:
    fields = ("action", "from_state", "to_state", "at", "reason")
    return {**{f: getattr(event, f) for f in fields}, "actor": event.actor_name}


@router.get("/proposals/{proposal_id}/history", response=list[EventOut])
@requires(action=Action.READ, resource="proposal")
def proposal_history(request: HttpRequest, proposal_id: int) -> list[dict[str, Any]]:
    _, events = services.history(principal(request), proposal_id)
    return [event_out(e) for e in events]


class AvailabilityOut(Schema):
    site: str
    name: str
    count: int | None = Field(description="None when fewer than 5 (suppressed) or no data")
    shown: str
    sources: list[str]


@router.get("/proposals/{proposal_id}/availability", response=list[AvailabilityOut])
@requires(action=Action.READ, resource="aggregates")
def availability(request: HttpRequest, proposal_id: int) -> list[services.SiteAvailability]:
    """Per site, how many subjects could contribute (counts below 5 suppressed)."""
    return services.availability(principal(request), proposal_id)
