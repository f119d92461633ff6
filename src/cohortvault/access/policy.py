"""The one policy function: ``decide(principal, action, resource)``.

Every front door reaches data through service functions, and every service function asks this
module before it acts. The rules are the area table of DESIGN.md, written out once below; every
combination not granted there is denied. The module is pure (no database, no I/O) so that the
whole role × area × action matrix can be tested exhaustively.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum


class Role(StrEnum):
    ADMINISTRATOR = "administrator"
    DATA_MANAGER = "data_manager"
    SITE_MEMBER = "site_member"
    PROJECT_MEMBER = "project_member"
    EXPORTER = "exporter"
    APPROVER = "approver"
    DATA_PROTECTION_OFFICER = "data_protection_officer"


#: Roles that hold consortium-wide, not per site or per project.
GLOBAL_ROLES = frozenset(
    {
        Role.ADMINISTRATOR,
        Role.DATA_MANAGER,
        Role.EXPORTER,
        Role.APPROVER,
        Role.DATA_PROTECTION_OFFICER,
    }
)


class Action(StrEnum):
    LIST = "list"
    READ = "read"
    WRITE = "write"
    DELETE = "delete"
    EXPORT = "export"
    APPROVE = "approve"
    ADMINISTER = "administer"


class AreaKind(StrEnum):
    HOME = "home"
    SITE_DATA = "site_data"
    SITE_IMPORT = "site_import"
    PROJECT = "project"
    LOGS = "logs"
    EXPORT_OUTBOX = "export_outbox"


class Facility(StrEnum):
    """Things that are not stored in areas but are still guarded."""

    AUDIT_TRAIL = "audit_trail"
    CONSORTIUM = "consortium"
    ACCESS_OVERVIEW = "access_overview"  # everyone's memberships and their history
    AGGREGATES = "aggregates"  # counts that passed disclosure control (discovery)
    EXTRACTION = "extraction"  # merging site datasets into a project delivery
    AGREEMENTS = "agreements"  # projects' signed transfer agreements (documents, not data)


class Scope(StrEnum):
    """How much of its user's power a credential carries (personal API tokens narrow it)."""

    FULL = "full"
    READ_ONLY = "read_only"
    PROJECT = "project"
    AGGREGATE = "aggregate"


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
class Principal:
    """Who is asking: a user with the memberships valid right now, or the system itself."""

    user_id: int | None
    username: str
    global_roles: frozenset[Role] = frozenset()
    sites: frozenset[str] = frozenset()
    projects: frozenset[str] = frozenset()
    is_system: bool = False
    contact_sites: frozenset[str] = frozenset()
    scope: Scope = Scope.FULL
    scope_project: str = ""

    def __post_init__(self) -> None:
        if not self.global_roles <= GLOBAL_ROLES:
            raise ValueError(f"not consortium-wide roles: {set(self.global_roles - GLOBAL_ROLES)}")

    @classmethod
    def anonymous(cls) -> Principal:
        return cls(user_id=None, username="")

    @classmethod
    def system(cls) -> Principal:
        return cls(user_id=None, username="system", is_system=True)

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None or self.is_system

    @property
    def roles(self) -> frozenset[Role]:
        roles = set(self.global_roles)
        if self.sites:
            roles.add(Role.SITE_MEMBER)
        if self.projects:
            roles.add(Role.PROJECT_MEMBER)
        return frozenset(roles)

    def has(self, role: Role) -> bool:
        return role in self.global_roles


@dataclass(frozen=True)
class Area:
    """One area of the folder model; ``key`` names the user, site, project or export request."""

    kind: AreaKind
    key: str = ""
    requester: str = field(default="", compare=False)
    approved: bool = field(default=False, compare=False)
    #: A file in the area that quality control found personal data in: only this uploader
    #: (and the data manager) may reach it until it is deleted.
    locked_to: str = field(default="", compare=False)
    #: A project's ``deliveries/`` folder: immutable, written by the platform alone.
    sealed: bool = field(default=False, compare=False)

    @classmethod
    def home(cls, username: str) -> Area:
        return cls(AreaKind.HOME, username)

    @classmethod
    def site_data(cls, site: str) -> Area:
        return cls(AreaKind.SITE_DATA, site)

    @classmethod
    def site_import(cls, site: str) -> Area:
        return cls(AreaKind.SITE_IMPORT, site)

    @classmethod
    def project(cls, project: str) -> Area:
        return cls(AreaKind.PROJECT, project)

    @classmethod
    def logs(cls) -> Area:
        return cls(AreaKind.LOGS)

    @classmethod
    def export_outbox(cls, request: str, *, requester: str, approved: bool) -> Area:
        return cls(AreaKind.EXPORT_OUTBOX, request, requester=requester, approved=approved)

    def locked(self, uploader: str) -> Area:
        """The same area, as seen for a file locked to ``uploader``."""
        return replace(self, locked_to=uploader)

    def sealing(self) -> Area:
        """The same area, as seen for its sealed part (a project's deliveries)."""
        return replace(self, sealed=True)

    @property
    def path(self) -> str:
        """The area's root path in the folder model of DESIGN.md."""
        match self.kind:
            case AreaKind.HOME:
                return f"home/{self.key}"
            case AreaKind.SITE_DATA:
                return f"sites/{self.key}/data"
            case AreaKind.SITE_IMPORT:
                return f"sites/{self.key}/import"
            case AreaKind.PROJECT:
                return f"projects/{self.key}"
            case AreaKind.LOGS:
                return "logs"
            case AreaKind.EXPORT_OUTBOX:
                return f"exports/{self.key}"

    def __str__(self) -> str:
        return self.path


@dataclass(frozen=True)
class Ticket:
    """A reported data error about one site's data: its reporter, the site's members and the
    data managers see it; only a data manager triages and corrects it."""

    site: str
    reporter: str

    def __str__(self) -> str:
        return f"ticket about {self.site} by {self.reporter}"


Resource = Area | Facility | Request | Ticket


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def _allow(reason: str) -> Decision:
    return Decision(True, reason)


def _deny(reason: str) -> Decision:
    return Decision(False, reason)


def decide(principal: Principal, action: Action, resource: Resource) -> Decision:
    """May ``principal`` do ``action`` on ``resource``? Denied unless a rule below grants it."""
    if not principal.is_authenticated:
        return _deny("not authenticated")
    narrowed = _narrowed_by_scope(principal, action, resource)
    if narrowed is not None:
        return narrowed
    if isinstance(resource, Facility):
        return _decide_facility(principal, action, resource)
    if isinstance(resource, Request):
        return _decide_request(principal, action, resource)
    if isinstance(resource, Ticket):
        return _decide_ticket(principal, action, resource)
    return _decide_area(principal, action, resource)


def _narrowed_by_scope(principal: Principal, action: Action, resource: Resource) -> Decision | None:
    """A refusal when the credential's scope excludes the action, whatever the roles allow."""
    match principal.scope:
        case Scope.FULL:
            return None
        case Scope.READ_ONLY:
            if action not in (Action.LIST, Action.READ):
                return _deny("a read-only token cannot change anything")
        case Scope.PROJECT:
            if isinstance(resource, Request | Ticket) or action is Action.ADMINISTER:
                return _deny("a project token acts only in its project's area")
            if isinstance(resource, Area) and resource != Area.project(principal.scope_project):
                return _deny(f"a token for project {principal.scope_project} reaches only its area")
            if isinstance(resource, Facility) and (
                resource is not Facility.CONSORTIUM or action not in (Action.LIST, Action.READ)
            ):
                return _deny(f"a token for project {principal.scope_project} reaches only its area")
        case Scope.AGGREGATE:
            if resource not in (Facility.AGGREGATES, Facility.CONSORTIUM) or action not in (
                Action.LIST,
                Action.READ,
            ):
                return _deny("an aggregate-only token reads aggregate answers and nothing else")
    return None


def _decide_facility(principal: Principal, action: Action, facility: Facility) -> Decision:
    match facility, action:
        case Facility.AUDIT_TRAIL, Action.LIST | Action.READ:
            if principal.has(Role.DATA_PROTECTION_OFFICER):
                return _allow("the data protection officer reads the audit trail")
        case Facility.CONSORTIUM, Action.LIST | Action.READ:
            if not principal.is_system:
                return _allow("every account sees the consortium's sites, studies and projects")
        case Facility.CONSORTIUM, Action.ADMINISTER | Action.WRITE | Action.DELETE:
            if principal.has(Role.ADMINISTRATOR):
                return _allow("the administrator manages sites, studies, users and memberships")
        case Facility.ACCESS_OVERVIEW, Action.LIST | Action.READ:
            if principal.has(Role.ADMINISTRATOR) or principal.has(Role.DATA_PROTECTION_OFFICER):
                return _allow("administrator and data protection officer see all memberships")
        case Facility.AGGREGATES, Action.LIST | Action.READ:
            if not principal.is_system:
                return _allow("every account may ask for aggregate answers")
        case Facility.EXTRACTION, Action.WRITE:
            if principal.has(Role.DATA_MANAGER):
                return _allow("only the data manager extracts data for projects")
        case Facility.AGREEMENTS, Action.WRITE:
            if principal.has(Role.DATA_MANAGER):
                return _allow("the data manager records transfer agreements")
        case Facility.AGREEMENTS, Action.LIST | Action.READ:
            if principal.has(Role.DATA_MANAGER) or principal.has(Role.ADMINISTRATOR):
                return _allow("administrator and data manager read signed transfer agreements")
    return _deny(f"no rule grants {action} on the {facility}")


def _decide_request(principal: Principal, action: Action, request: Request) -> Decision:
    """Governance requests: who may file them, see them, and decide them (four eyes)."""
    if principal.is_system:
        return _deny("the system neither files nor decides requests")
    me = principal.username
    match action:
        case Action.WRITE:
            if request.kind is RequestKind.REGISTRATION:
                if request.site in principal.contact_sites:
                    return _allow(f"contact person of site {request.site}")
                return _deny("only a site's contact person requests accounts for it")
            if request.kind is RequestKind.PROJECT_PROPOSAL:
                if me == request.requester:
                    return _allow("anyone may propose a project; its author alone changes it")
                return _deny("only its author changes a proposal")
            return _allow("anyone may ask for an access change; others decide it")
        case Action.LIST | Action.READ:
            if me in (request.requester, request.subject) or me in request.concerns:
                return _allow("requester or subject of the request")
            if principal.has(Role.ADMINISTRATOR):
                return _allow("the administrator decides requests")
            if request.kind is RequestKind.REGISTRATION and principal.has(
                Role.DATA_PROTECTION_OFFICER
            ):
                return _allow("the data protection officer confirms registrations")
            if request.step is Step.ASSEMBLY and principal.has(Role.APPROVER):
                return _allow("approvers record the general assembly's decision")
            if request.kind is RequestKind.PROJECT_PROPOSAL and principal.has(Role.DATA_MANAGER):
                return _allow("the data manager provisions approved projects")
        case Action.APPROVE:
            if me == request.requester:
                return _deny("nobody decides their own request (four eyes)")
            if me == request.subject or me in request.concerns:
                return _deny("nobody decides a request that concerns themselves (four eyes)")
            match request.step:
                case Step.CONFIRM if principal.has(Role.DATA_PROTECTION_OFFICER):
                    return _allow("the data protection officer confirms registrations")
                case Step.ASSEMBLY if principal.has(Role.APPROVER):
                    return _allow("an approver records the general assembly's decision")
                case Step.ADMINISTRATOR if principal.has(Role.ADMINISTRATOR):
                    return _allow("the administrator approves")
            return _deny(f"no rule lets this account take the {request.step} decision")
    return _deny(f"no rule grants {action} on {request.kind} requests")


def _decide_ticket(principal: Principal, action: Action, ticket: Ticket) -> Decision:
    """Error tickets: anyone reports one; its reporter, the site's members and the data
    managers read and comment on it; data managers alone triage and correct."""
    if principal.is_system:
        return _deny("the system neither files nor reads tickets")
    match action:
        case Action.LIST | Action.READ | Action.WRITE:
            if principal.username == ticket.reporter:
                return _allow("the reporter of the ticket")
            if ticket.site in principal.sites:
                return _allow(f"member of site {ticket.site}, whose data the ticket is about")
            if principal.has(Role.DATA_MANAGER):
                return _allow("the data manager handles every ticket")
            return _deny("tickets are seen by their reporter, the site's members and data managers")
        case Action.APPROVE:
            if principal.has(Role.DATA_MANAGER):
                return _allow("only the data manager triages and corrects site data")
            return _deny("only the data manager triages and corrects site data")
    return _deny(f"no rule grants {action} on tickets")


_KEEPING = (Action.LIST, Action.READ, Action.WRITE, Action.DELETE)


def _decide_area(principal: Principal, action: Action, area: Area) -> Decision:
    if area.locked_to and not (
        principal.username == area.locked_to or principal.has(Role.DATA_MANAGER)
    ):
        return _deny("a file with personal data is locked to its uploader and the data manager")
    if area.sealed and principal.is_system and action in _KEEPING:
        return _allow("the platform writes and keeps deliveries")
    if area.sealed and action in (Action.WRITE, Action.DELETE):
        return _deny("deliveries are immutable: only the platform writes them")
    match action:
        case Action.LIST | Action.READ:
            return _may_read(principal, area)
        case Action.WRITE | Action.DELETE:
            return _may_write(principal, area)
        case Action.EXPORT:
            if area.kind is AreaKind.EXPORT_OUTBOX:
                return _deny("the export outbox is already outside the platform")
            if not principal.has(Role.EXPORTER):
                return _deny("only members of the export group may request an export")
            readable = _may_read(principal, area)
            if not readable:
                return _deny(f"exporters export only what they can read: {readable.reason}")
            return _allow(f"exporter who may read {area}")
        case Action.APPROVE:
            if area.kind is AreaKind.SITE_IMPORT and principal.has(Role.DATA_MANAGER):
                return _allow("the data manager accepts or rejects imports")
            return _deny(f"no rule grants approve on {area.kind} areas")
        case Action.ADMINISTER:
            return _deny("areas are not administered directly")


def _may_read(principal: Principal, area: Area) -> Decision:
    match area.kind:
        case AreaKind.HOME:
            if principal.username == area.key and not principal.is_system:
                return _allow("owner of the home area")
        case AreaKind.SITE_DATA | AreaKind.SITE_IMPORT:
            if area.key in principal.sites:
                return _allow(f"member of site {area.key}")
            if principal.has(Role.DATA_MANAGER):
                return _allow("the data manager reads all site data")
        case AreaKind.PROJECT:
            if area.key in principal.projects:
                return _allow(f"member of project {area.key}")
            if principal.has(Role.DATA_MANAGER):
                return _allow("the data manager reads all projects")
        case AreaKind.LOGS:
            return _allow("the common area is readable by everyone")
        case AreaKind.EXPORT_OUTBOX:
            if principal.is_system:
                return _allow("the system maintains export outboxes")
            if area.requester == principal.username and area.approved:
                return _allow("the requesting exporter, after approval")
    return _deny(f"no rule grants reading {area}")


def _may_write(principal: Principal, area: Area) -> Decision:
    match area.kind:
        case AreaKind.HOME:
            if principal.username == area.key and not principal.is_system:
                return _allow("owner of the home area")
        case AreaKind.SITE_DATA:
            if principal.has(Role.DATA_MANAGER):
                return _allow("only the data manager writes site data")
        case AreaKind.SITE_IMPORT:
            if area.key in principal.sites:
                return _allow(f"member of site {area.key} uploads to its import area")
            if principal.has(Role.DATA_MANAGER):
                return _allow("the data manager writes import areas")
        case AreaKind.PROJECT:
            if area.key in principal.projects:
                return _allow(f"member of project {area.key}")
            if principal.has(Role.DATA_MANAGER):
                return _allow("the data manager provides project data")
        case AreaKind.LOGS:
            if principal.is_system or principal.has(Role.DATA_MANAGER):
                return _allow("the data manager and the system write the common area")
        case AreaKind.EXPORT_OUTBOX:
            if principal.is_system:
                return _allow("only the system writes export outboxes")
    return _deny(f"no rule grants writing {area}")
