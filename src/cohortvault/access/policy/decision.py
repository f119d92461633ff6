"""The rules, written out once: ``decide(principal, action, resource)``.

Every combination not granted here is denied. The rules stay in one module so that the whole
area table of DESIGN.md can be read, and reviewed, in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cohortvault.access.policy.areas import Area, AreaKind
from cohortvault.access.policy.principal import Principal, Role, Scope
from cohortvault.access.policy.resources import (
    Facility,
    Request,
    RequestKind,
    Resource,
    Step,
    Ticket,
)


class Action(StrEnum):
    LIST = "list"
    READ = "read"
    WRITE = "write"
    DELETE = "delete"
    EXPORT = "export"
    APPROVE = "approve"
    ADMINISTER = "administer"


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
