"""What is guarded besides areas (facilities, governance requests, error tickets), and the
``Resource`` union of everything the policy decides on."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cohortvault.access.policy.areas import Area


class Facility(StrEnum):
    """Things that are not stored in areas but are still guarded."""

    AUDIT_TRAIL = "audit_trail"
    CONSORTIUM = "consortium"
    ACCESS_OVERVIEW = "access_overview"  # everyone's memberships and their history
    AGGREGATES = "aggregates"  # counts that passed disclosure control (discovery)
    EXTRACTION = "extraction"  # merging site datasets into a project delivery
    AGREEMENTS = "agreements"  # projects' signed transfer agreements (documents, not data)


class RequestKind(StrEnum):
    REGISTRATION = "registration"
    ACCESS_CHANGE = "access_change"
    PROJECT_PROPOSAL = "project_proposal"


class Step(StrEnum):
    """The decision a governance request is waiting for."""

    CONFIRM = "confirm"  # the data protection officer confirms a registration
    ASSEMBLY = "assembly"  # an approver records the general assembly's decision
    ADMINISTRATOR = "administrator"  # the administrator approves


@dataclass(frozen=True)
class Request:
    """A governance request: who asked, whom it concerns, and which decision it awaits."""

    kind: RequestKind
    requester: str
    subject: str = ""
    site: str = ""
    step: Step = Step.ADMINISTRATOR
    #: Further people the request concerns (a proposal's members): like the subject, they may
    #: read it and may not decide it.
    concerns: frozenset[str] = frozenset()

    def __str__(self) -> str:
        return f"{self.kind} request by {self.requester}"


@dataclass(frozen=True)
class Ticket:
    """A reported data error about one site's data: its reporter, the site's members and the
    data managers see it; only a data manager triages and corrects it."""

    site: str
    reporter: str

    def __str__(self) -> str:
        return f"ticket about {self.site} by {self.reporter}"


Resource = Area | Facility | Request | Ticket
