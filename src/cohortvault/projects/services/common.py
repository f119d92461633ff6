"""What the proposal, decision and agreement doors share: the policy's view of a proposal,
finding one the caller may see, recording its events, and auditing refused input."""

from __future__ import annotations

from typing import Any, NoReturn

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet

from cohortvault.access.guard import authorize
from cohortvault.access.policy import Action, Principal, Request, RequestKind, Role, Step
from cohortvault.audit.trail import Outcome, record
from cohortvault.errors import CohortvaultError, NotAuthenticated, NotFound
from cohortvault.projects.models import Proposal, ProposalEvent

#: Roles that see every submitted proposal (the policy's request rules say the same).
OVERSEERS = (Role.ADMINISTRATOR, Role.APPROVER, Role.DATA_MANAGER)
#: Counts of subjects below this are shown as "fewer than 5" (disclosure control).
SMALL_COUNT = 5


def policy_request(proposal: Proposal) -> Request:
    """The proposal as the policy sees it: its author asks, its PI and members are concerned,
    and the general assembly (an approver) decides."""
    return Request(
        RequestKind.PROJECT_PROPOSAL,
        requester=proposal.author.get_username(),
        subject=proposal.principal_investigator.get_username(),
        step=Step.ASSEMBLY,
        concerns=frozenset(member.get_username() for member in proposal.members.all()),
    )


def user_id(principal: Principal) -> int:
    if principal.user_id is None:
        raise NotAuthenticated()
    return principal.user_id


def visible_proposals(principal: Principal) -> QuerySet[Proposal]:
    """Proposals the principal may read: their own drafts; submitted ones they wrote or are
    named in; every submitted one for approvers, data managers and the administrator."""
    me = principal.user_id or -1
    rows = Proposal.objects.select_related("author", "principal_investigator", "project")
    own_drafts = Q(state=Proposal.State.DRAFT, author_id=me)
    if any(principal.has(role) for role in OVERSEERS):
        return rows.filter(~Q(state=Proposal.State.DRAFT) | own_drafts)
    named = Q(author_id=me) | Q(principal_investigator_id=me) | Q(members__id=me)
    return rows.filter(own_drafts | (~Q(state=Proposal.State.DRAFT) & named)).distinct()


def proposal_for(principal: Principal, proposal_id: int, action: Action) -> Proposal:
    """A proposal the principal may see, after the policy allowed ``action`` on it; one they
    may not see looks missing (and the refusal is audited)."""
    proposal = visible_proposals(principal).filter(pk=proposal_id).first()
    target = f"proposal {proposal_id}"
    if proposal is None:
        if Proposal.objects.filter(pk=proposal_id).exists():
            with transaction.atomic():
                record(
                    f"access.{Action.READ}",
                    actor=principal,
                    outcome=Outcome.DENIED,
                    target=target,
                    reason="a draft is seen by its author only, a proposal by the people on it "
                    "and those who decide or provision it",
                )
        raise NotFound()
    authorize(principal, action, policy_request(proposal), target=target)
    return proposal


def record_event(
    proposal: Proposal,
    *,
    action: str,
    from_state: str,
    principal: Principal,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> ProposalEvent:
    """The proposal's history entry and its audit entry, in the caller's transaction."""
    event = ProposalEvent.objects.create(
        proposal=proposal,
        action=action,
        from_state=from_state,
        to_state=proposal.state,
        actor_id=principal.user_id,
        reason=reason,
    )
    record(
        f"projects.proposal.{action}",
        actor=principal,
        target=str(proposal),
        reason=reason,
        details={
            "proposal": proposal.pk,
            "from": from_state,
            "to": proposal.state,
            **(details or {}),
        },
    )
    return event


def refuse(principal: Principal, action: str, target: str, error: CohortvaultError) -> NoReturn:
    """Audit refused input (nothing else is written), then raise it."""
    with transaction.atomic():
        record(
            f"projects.{action}",
            actor=principal,
            outcome=Outcome.FAILED,
            target=target,
            reason=error.message,
            details={"problems": [str(d) for d in error.details]},
        )
    raise error


def unusable_people(usernames: list[str]) -> list[str]:
    """Why each of these people cannot be on a project (unknown, not yet enrolled, disabled)."""
    users = {u.get_username(): u for u in get_user_model().objects.filter(username__in=usernames)}
    problems = []
    for name in usernames:
        user = users.get(name)
        if user is None:
            problems.append(f"There is no user {name!r}.")
        elif getattr(user, "pending", False):
            problems.append(f"{name} has not completed their enrolment yet (not yet approved).")
        elif not user.is_active:
            problems.append(f"{name}'s account is not active.")
    return problems


def text_problems(label: str, value: str, *, limit: int, one_line: bool) -> list[str]:
    problems = []
    if "\x00" in value:
        problems.append(f"{label} contains a NUL character")
    if one_line and ("\n" in value or "\r" in value):
        problems.append(f"{label} must be one line")
    if len(value) > limit:
        problems.append(f"{label} is longer than {limit} characters")
    return problems
