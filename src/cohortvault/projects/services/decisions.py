"""The general assembly's decision on a proposal, recorded by an approver, and what an approval
sets going: the project with its area, a pending agreement per site, and access requests for
its people, which the administrator approves (nobody is granted anything here). Then the
knowledge-management committee's notice to the data managers.

Four eyes: the policy refuses the decision to the proposal's author, its principal
investigator and its members.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from cohortvault.access.policy import Action, Principal, Role
from cohortvault.audit.trail import record
from cohortvault.consortium.models import Project, Site
from cohortvault.errors import Conflict, Invalid
from cohortvault.governance import services as governance
from cohortvault.governance.notify import notify, notify_role
from cohortvault.projects.models import Agreement, Proposal
from cohortvault.projects.services.common import (
    proposal_for,
    record_event,
    refuse,
    text_problems,
    unusable_people,
    user_id,
)

State, Outcome = Proposal.State, Proposal.Outcome


@dataclass(frozen=True)
class DecisionInput:
    outcome: str
    meeting_date: date | None
    reference: str
    conditions: str = ""
    reason: str = ""


def _problems(decision: DecisionInput) -> list[str]:
    problems = []
    if decision.outcome not in Outcome.values:
        problems.append(f"The outcome is one of {', '.join(Outcome.values)}.")
    if decision.outcome == Outcome.APPROVED_WITH_CONDITIONS and not decision.conditions.strip():
        problems.append("An approval with conditions needs the conditions.")
    if decision.outcome == Outcome.REJECTED and not decision.reason.strip():
        problems.append("A rejection needs a reason.")
    if decision.meeting_date is None:
        problems.append("Give the date of the general assembly's meeting.")
    elif decision.meeting_date > timezone.localdate():
        problems.append("The meeting date lies in the future.")
    if not decision.reference.strip():
        problems.append("Give the reference of the decision (the minutes number).")
    problems += text_problems("The reference", decision.reference, limit=200, one_line=True)
    problems += text_problems("The conditions", decision.conditions, limit=5000, one_line=False)
    problems += text_problems("The reason", decision.reason, limit=5000, one_line=False)
    return problems


def people_of(proposal: Proposal) -> list[str]:
    """The principal investigator and the members, PI first."""
    members = sorted(m.get_username() for m in proposal.members.all())
    return [proposal.principal_investigator.get_username(), *members]


def decide_proposal(principal: Principal, proposal_id: int, decision: DecisionInput) -> Proposal:
    """Record the assembly's decision on a submitted proposal (an approver, four eyes).

    An approval is refused, with nothing written, while anyone named on the proposal has no
    active account or the project code is taken.
    """
    proposal = proposal_for(principal, proposal_id, Action.APPROVE)
    target = str(proposal)
    if proposal.state != State.SUBMITTED:
        raise Conflict(f"This proposal is {proposal.get_state_display()}: nothing to decide.")
    problems = _problems(decision)
    approving = decision.outcome in (Outcome.APPROVED, Outcome.APPROVED_WITH_CONDITIONS)
    if approving:
        problems += unusable_people(people_of(proposal))
        if Project.objects.filter(code=proposal.code).exists():
            problems.append(f"A project {proposal.code!r} exists already.")
    if problems:
        invalid = Invalid("The decision cannot be recorded.", details=problems)
        refuse(principal, "proposal.decide", target, invalid)
    try:
        with transaction.atomic():
            locked = Proposal.objects.select_for_update().get(pk=proposal.pk)
            if locked.state != State.SUBMITTED:
                raise Conflict("Someone else decided this proposal meanwhile.")
            _record_decision(principal, proposal, decision)
            if approving:
                _provision(principal, proposal)
            _tell_people(proposal)
    except IntegrityError:
        raise Conflict(f"The project {proposal.code!r} was created meanwhile.") from None
    return proposal


def _record_decision(principal: Principal, proposal: Proposal, decision: DecisionInput) -> None:
    approving = decision.outcome != Outcome.REJECTED
    proposal.state = State.APPROVED if approving else State.REJECTED
    proposal.outcome = decision.outcome
    proposal.conditions = decision.conditions.strip()
    proposal.decision_reason = decision.reason.strip()
    proposal.meeting_date = decision.meeting_date
    proposal.reference = decision.reference.strip()
    proposal.decided_by_id = user_id(principal)
    proposal.decided_at = proposal.updated_at = timezone.now()
    proposal.save()
    said = proposal.get_outcome_display()
    why = proposal.conditions if decision.outcome == Outcome.APPROVED_WITH_CONDITIONS else ""
    record_event(
        proposal,
        action="decide",
        from_state=State.SUBMITTED,
        principal=principal,
        reason=f"{said} (meeting {proposal.meeting_date}, {proposal.reference})"
        + (f": {why or proposal.decision_reason}" if why or proposal.decision_reason else ""),
        details={"outcome": decision.outcome, "reference": proposal.reference},
    )


def _provision(principal: Principal, proposal: Proposal) -> None:
    """The project (its area and key come with it), an agreement per site, and an access
    request for each of its people, filed by the deciding approver."""
    project = Project(code=proposal.code, title=proposal.title[:300])
    project.full_clean()
    project.save()
    record(
        "consortium.project.create",
        actor=principal,
        target=f"project {project.code}",
        reason=f"approved {proposal}",
        details={"proposal": proposal.pk},
    )
    proposal.project = project
    proposal.save(update_fields=["project"])
    for site in Site.objects.filter(code__in=proposal.sites):
        Agreement.objects.create(proposal=proposal, site=site, updated_by=principal.username)
    reason = (
        f"Member of project {project.code} ({proposal.title}): proposal {proposal.pk} "
        f"approved by the general assembly on {proposal.meeting_date} ({proposal.reference})."
    )
    group = governance.GroupRef(Role.PROJECT_MEMBER, project=project.code)
    for username in people_of(proposal):
        governance.request_access_change(
            principal, username=username, group=group, operation="add", reason=reason
        )


def _tell_people(proposal: Proposal) -> None:
    text = f"Proposal {proposal.code!r}: {proposal.get_outcome_display()} by the general assembly."
    link = f"/projects/proposals/{proposal.pk}/"
    users = {proposal.author, proposal.principal_investigator, *proposal.members.all()}
    for user in sorted(users, key=lambda u: u.get_username()):
        notify(user, text, link=link)


def notify_data_manager(principal: Principal, proposal_id: int, *, note: str = "") -> Proposal:
    """The knowledge-management committee tells the data managers an approved project is
    coming: they check its agreements and prepare its data (an approver, once)."""
    proposal = proposal_for(principal, proposal_id, Action.APPROVE)
    problems = text_problems("The note", note, limit=2000, one_line=False)
    if problems:
        invalid = Invalid("The note is not valid.", details=problems)
        refuse(principal, "proposal.notify_data_manager", str(proposal), invalid)
    with transaction.atomic():
        locked = Proposal.objects.select_for_update().get(pk=proposal.pk)
        if locked.state != State.APPROVED:
            raise Conflict("Only an approved proposal's project is announced to data managers.")
        if locked.data_manager_notified_at is not None:
            raise Conflict("The data managers were notified already.")
        proposal.data_manager_notified_at = timezone.now()
        proposal.save(update_fields=["data_manager_notified_at"])
        record_event(
            proposal,
            action="notify_data_manager",
            from_state=proposal.state,
            principal=principal,
            reason=note.strip() or "Data managers notified by the knowledge-management committee.",
        )
        notify_role(
            Role.DATA_MANAGER,
            f"Project {proposal.code!r} was approved: record its sites' transfer agreements "
            "and prepare its data.",
            link=f"/projects/{proposal.code}/",
            exclude=principal.username,
        )
    return proposal
