"""Drafting, editing, submitting and withdrawing proposals. Drafts belong to their author;
submitting freezes a proposal until the general assembly decides it.

Every input is checked as a whole before anything is written: variables must be in the current
data dictionary, sites, studies and timepoints must exist, and every person named must have an
active account. A refusal lists every problem and is recorded in the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from cohortvault.access.guard import authorize
from cohortvault.access.policy import Action, Principal, Request, RequestKind, Role, Step
from cohortvault.catalog import services as catalog
from cohortvault.catalog.schema import IDENTIFIERS
from cohortvault.consortium.models import Project, Site, Study, Timepoint, code_validator
from cohortvault.errors import Conflict, Invalid, NotFound
from cohortvault.governance.notify import notify_role
from cohortvault.projects.models import Proposal
from cohortvault.projects.services.common import (
    proposal_for,
    record_event,
    refuse,
    text_problems,
    unusable_people,
    user_id,
)

State = Proposal.State
#: Codes the project pages use themselves, so no project may be called that.
RESERVED_CODES = frozenset({"proposals", "new"})
MAX_AIMS = 20_000
MAX_ITEMS = 1000


@dataclass(frozen=True)
class ProposalInput:
    """What an author writes into a proposal, from any front door."""

    title: str
    code: str
    principal_investigator: str
    aims: str = ""
    members: list[str] = field(default_factory=list)
    variables: list[str] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)
    studies: list[str] = field(default_factory=list)
    timepoints: list[str] = field(default_factory=list)
    modalities: list[str] = field(default_factory=list)

    def cleaned(self) -> ProposalInput:
        """Surrounding spaces trimmed, repeats and empty entries dropped, the PI not repeated
        among the members."""
        pi = self.principal_investigator.strip()
        return ProposalInput(
            title=self.title.strip(),
            code=self.code.strip(),
            principal_investigator=pi,
            aims=self.aims.strip(),
            members=[m for m in _unique(self.members) if m != pi],
            variables=_unique(self.variables),
            sites=_unique(self.sites),
            studies=_unique(self.studies),
            timepoints=_unique(self.timepoints),
            modalities=_unique(self.modalities),
        )


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in values if v and v.strip()))


def problems_of(data: ProposalInput, *, complete: bool) -> tuple[list[str], int | None]:
    """Every problem of the input (``complete``: as submitted), and the dictionary version
    the variables were checked against."""
    problems: list[str] = []
    if not data.title:
        problems.append("Give the proposal a title.")
    problems += text_problems("The title", data.title, limit=300, one_line=True)
    problems += text_problems("The aims", data.aims, limit=MAX_AIMS, one_line=False)
    try:
        code_validator(data.code)
    except Exception:
        problems.append(
            f"The code {data.code!r} is not valid: use 1–40 lower-case letters, digits and "
            "hyphens (it becomes the folder projects/<code>)."
        )
    if data.code in RESERVED_CODES:
        problems.append(f"The code {data.code!r} is reserved; choose another.")
    elif Project.objects.filter(code=data.code).exists():
        problems.append(f"A project {data.code!r} exists already; choose another code.")
    if not data.principal_investigator:
        problems.append("Name the principal investigator (a username).")
    problems += unusable_people([p for p in [data.principal_investigator] if p] + data.members)
    lists = {
        "variables": data.variables,
        "members": data.members,
        "sites": data.sites,
        "studies": data.studies,
        "timepoints": data.timepoints,
        "modalities": data.modalities,
    }
    problems += [
        f"At most {MAX_ITEMS} {label}." for label, v in lists.items() if len(v) > MAX_ITEMS
    ]
    for modality in data.modalities:
        problems += text_problems(
            f"The modality {modality[:40]!r}", modality, limit=40, one_line=True
        )
    wanted, version = _variable_problems(data.variables)
    problems += wanted + _scope_problems(data)
    if complete:
        needed = {
            "variables": "variable",
            "sites": "site",
            "studies": "study",
            "timepoints": "timepoint",
        }
        problems += [
            f"Request at least one {one} before submitting."
            for label, one in needed.items()
            if not lists[label]
        ]
        if not data.aims:
            problems.append("Describe the project's aims before submitting.")
    return problems, version


def _variable_problems(names: list[str]) -> tuple[list[str], int | None]:
    if not names:
        return [], None
    try:
        dictionary = catalog.current()
    except NotFound:
        return ["No data dictionary has been imported yet, so no variable can be requested."], None
    known = set(dictionary.names)
    problems = [
        f"{name} is always delivered (an identifier); do not request it."
        if name in IDENTIFIERS
        else f"{name!r} is not a variable of the data dictionary (version {dictionary.version})."
        for name in names
        if name in IDENTIFIERS or name not in known
    ]
    return problems, dictionary.version


def _scope_problems(data: ProposalInput) -> list[str]:
    """Sites must exist; studies must be studies of those sites, timepoints of those studies."""
    problems = []
    known_sites = set(Site.objects.filter(code__in=data.sites).values_list("code", flat=True))
    problems += [f"There is no site {code!r}." for code in data.sites if code not in known_sites]
    studies = Study.objects.filter(site__code__in=known_sites)
    study_codes = {s.code for s in studies}
    problems += [
        f"None of the requested sites has a study {code!r}."
        for code in data.studies
        if code not in study_codes
    ]
    chosen = studies.filter(code__in=data.studies)
    timepoints = set(
        Timepoint.objects.filter(study__in=chosen).values_list("code", flat=True).distinct()
    )
    problems += [
        f"None of the requested studies has a timepoint {code!r}."
        for code in data.timepoints
        if code not in timepoints
    ]
    if data.studies:
        with_study = set(chosen.values_list("site__code", flat=True))
        problems += [
            f"Site {code} has none of the requested studies, so it would contribute nothing."
            for code in data.sites
            if code in known_sites and code not in with_study
        ]
    return problems


def _checked(
    principal: Principal, data: ProposalInput, action: str, target: str, *, complete: bool
) -> tuple[ProposalInput, int | None]:
    data = data.cleaned()
    problems, version = problems_of(data, complete=complete)
    if problems:
        refuse(principal, action, target, Invalid("The proposal is not valid.", details=problems))
    return data, version


def _apply(proposal: Proposal, data: ProposalInput, version: int | None) -> None:
    users = get_user_model().objects
    proposal.title, proposal.code, proposal.aims = data.title, data.code, data.aims
    proposal.principal_investigator = users.get(username=data.principal_investigator)
    proposal.variables, proposal.sites = data.variables, data.sites
    proposal.studies, proposal.timepoints = data.studies, data.timepoints
    proposal.modalities, proposal.dictionary_version = data.modalities, version
    proposal.updated_at = timezone.now()
    proposal.save()
    proposal.members.set(users.filter(username__in=data.members))


def create_proposal(principal: Principal, data: ProposalInput) -> Proposal:
    """Draft a new proposal; any account may, and becomes its author."""
    request = Request(
        RequestKind.PROJECT_PROPOSAL, requester=principal.username, step=Step.ASSEMBLY
    )
    authorize(principal, Action.WRITE, request, target="new proposal")
    data, version = _checked(principal, data, "proposal.create", "new proposal", complete=False)
    with transaction.atomic():
        proposal = Proposal(author_id=user_id(principal))
        _apply(proposal, data, version)
        record_event(proposal, action="create", from_state="", principal=principal)
    return proposal


def update_proposal(principal: Principal, proposal_id: int, data: ProposalInput) -> Proposal:
    """Change a draft (its author only); a submitted proposal is frozen."""
    proposal = proposal_for(principal, proposal_id, Action.WRITE)
    _require_draft(proposal)
    data, version = _checked(principal, data, "proposal.update", str(proposal), complete=False)
    with transaction.atomic():
        locked = Proposal.objects.select_for_update().get(pk=proposal.pk)
        _require_draft(locked)
        _apply(proposal, data, version)
        record_event(proposal, action="edit", from_state=State.DRAFT, principal=principal)
    return proposal


def _require_draft(proposal: Proposal) -> None:
    if proposal.state != State.DRAFT:
        raise Conflict(f"This proposal is {proposal.get_state_display()}; only drafts change.")


def submit_proposal(principal: Principal, proposal_id: int) -> Proposal:
    """Send a complete draft to the general assembly (its author only); it is frozen then."""
    proposal = proposal_for(principal, proposal_id, Action.WRITE)
    _require_draft(proposal)
    data = ProposalInput(
        title=proposal.title,
        code=proposal.code,
        principal_investigator=proposal.principal_investigator.get_username(),
        aims=proposal.aims,
        members=sorted(m.get_username() for m in proposal.members.all()),
        variables=list(proposal.variables),
        sites=list(proposal.sites),
        studies=list(proposal.studies),
        timepoints=list(proposal.timepoints),
        modalities=list(proposal.modalities),
    )
    _checked(principal, data, "proposal.submit", str(proposal), complete=True)
    if Proposal.objects.filter(code=proposal.code, state__in=LIVE).exists():
        busy = Conflict(f"Another proposal for the code {proposal.code!r} is under way.")
        refuse(principal, "proposal.submit", str(proposal), busy)
    try:
        with transaction.atomic():
            locked = Proposal.objects.select_for_update().get(pk=proposal.pk)
            _require_draft(locked)
            proposal.state, proposal.submitted_at = State.SUBMITTED, timezone.now()
            proposal.updated_at = proposal.submitted_at
            proposal.save(update_fields=["state", "submitted_at", "updated_at"])
            record_event(proposal, action="submit", from_state=State.DRAFT, principal=principal)
            _announce_submission(principal, proposal)
    except IntegrityError:
        raise Conflict(f"Another proposal for the code {proposal.code!r} is under way.") from None
    return proposal


LIVE = (State.SUBMITTED, State.APPROVED, State.CLOSED)


def _announce_submission(principal: Principal, proposal: Proposal) -> None:
    notify_role(
        Role.APPROVER,
        f"Proposal {proposal.code!r} ({proposal.title}) awaits the general assembly's decision.",
        link=f"/projects/proposals/{proposal.pk}/",
        exclude=principal.username,
    )


def withdraw_proposal(principal: Principal, proposal_id: int, *, reason: str = "") -> Proposal:
    """Withdraw a draft or a proposal not yet decided (its author only)."""
    proposal = proposal_for(principal, proposal_id, Action.WRITE)
    problems = text_problems("The reason", reason, limit=2000, one_line=False)
    if problems:
        invalid = Invalid("The reason is not valid.", details=problems)
        refuse(principal, "proposal.withdraw", str(proposal), invalid)
    with transaction.atomic():
        locked = Proposal.objects.select_for_update().get(pk=proposal.pk)
        if locked.state not in (State.DRAFT, State.SUBMITTED):
            raise Conflict(f"This proposal is {locked.get_state_display()}: too late to withdraw.")
        before = locked.state
        proposal.state, proposal.updated_at = State.WITHDRAWN, timezone.now()
        proposal.save(update_fields=["state", "updated_at"])
        record_event(
            proposal, action="withdraw", from_state=before, principal=principal, reason=reason
        )
    return proposal
