"""How projects end: an agreement that expires closes its project (``enforce_agreements``, run
by ``cohortvault projects enforce`` and by every garbage collection), and the administrator
may close one (``close_project``).

A closed project's memberships stop counting at its members' next request
(``consortium.services.principal_for_user``), so its area is out of their reach; the
memberships themselves are kept as history.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from cohortvault.access.guard import authorize
from cohortvault.access.policy import Action, Facility, Principal, Role
from cohortvault.audit.trail import record
from cohortvault.consortium.models import Membership, Project
from cohortvault.errors import Conflict, Invalid
from cohortvault.governance.notify import notify, notify_role
from cohortvault.projects.models import Agreement, Proposal
from cohortvault.projects.services.agreements import project_proposal
from cohortvault.projects.services.common import record_event, refuse, text_problems


def close_project(principal: Principal, project_code: str, *, reason: str) -> Proposal:
    """Close a project now (the administrator), with a reason its people are told."""
    target = f"project {project_code}"
    authorize(principal, Action.ADMINISTER, Facility.CONSORTIUM, target=target)
    proposal = project_proposal(project_code)
    problems = text_problems("The reason", reason, limit=2000, one_line=False)
    if not reason.strip():
        problems.append("Say why the project is closed.")
    if problems:
        refuse(principal, "project.close", target, Invalid("Not closed.", details=problems))
    assert proposal.project is not None  # project_proposal finds proposals by their project
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=proposal.project.pk)
        if project.status != Project.Status.ACTIVE:
            raise Conflict(f"Project {project_code} is closed already.")
        _close(principal, proposal, project, reason.strip())
    return proposal


def _close(principal: Principal, proposal: Proposal, project: Project, reason: str) -> None:
    project.status = Project.Status.CLOSED
    project.save(update_fields=["status"])
    record(
        "consortium.project.close",
        actor=principal,
        target=f"project {project.code}",
        reason=reason,
        details={"proposal": proposal.pk},
    )
    before = proposal.state
    proposal.state, proposal.updated_at = Proposal.State.CLOSED, timezone.now()
    proposal.save(update_fields=["state", "updated_at"])
    record_event(proposal, action="close", from_state=before, principal=principal, reason=reason)
    text = f"Project {project.code} was closed: {reason}"
    link = f"/projects/{project.code}/"
    members = Membership.objects.active().filter(group__project=project).select_related("user")
    people = {m.user for m in members} | {proposal.principal_investigator}
    people |= set(proposal.members.all())
    for user in sorted(people, key=lambda u: u.get_username()):
        notify(user, text, link=link)
    notify_role(Role.DATA_MANAGER, text, link=link)


def enforce_agreements(now: datetime | None = None) -> list[str]:
    """Mark every signed agreement past its expiry expired, and close each active project
    that has one; returns one sentence per closed project. Runs as the platform."""
    today = timezone.localdate(now) if now is not None else timezone.localdate()
    system = Principal.system()
    due = (
        Agreement.objects.filter(status=Agreement.Status.SIGNED, expires_on__lt=today)
        .select_related("site", "proposal__project")
        .order_by("proposal_id", "site__code")
    )
    by_proposal: dict[int, list[Agreement]] = {}
    for agreement in due:
        by_proposal.setdefault(agreement.proposal_id, []).append(agreement)
    closed = []
    for proposal_id, agreements in by_proposal.items():
        with transaction.atomic():
            proposal = Proposal.objects.select_related("project").get(pk=proposal_id)
            expired = _expire(system, proposal, agreements)
            if proposal.project is None or not expired:
                continue
            project = Project.objects.select_for_update().get(pk=proposal.project.pk)
            if project.status != Project.Status.ACTIVE:
                continue
            reason = " ".join(expired)
            _close(system, proposal, project, reason)
        closed.append(f"Project {project.code} closed: {reason}")
    return closed


def _expire(system: Principal, proposal: Proposal, agreements: list[Agreement]) -> list[str]:
    expired = []
    for agreement in agreements:
        locked = Agreement.objects.select_for_update().get(pk=agreement.pk)
        if locked.status != Agreement.Status.SIGNED:
            continue
        locked.status, locked.updated_by = Agreement.Status.EXPIRED, system.username
        locked.updated_at = timezone.now()
        locked.save(update_fields=["status", "updated_by", "updated_at"])
        site = agreement.site.code
        sentence = f"The transfer agreement with site {site} expired on {locked.expires_on}."
        record(
            "projects.agreement.expire",
            actor=system,
            target=f"agreement of site {agreement.site.code} for project {proposal.code}",
            reason=sentence,
        )
        expired.append(sentence)
    return expired


def purge_expired_agreements() -> dict[str, int]:
    """The garbage collection's hook (a ``storage.maintenance`` purger): enforce agreements."""
    return {"projects closed (agreement expired)": len(enforce_agreements())}
