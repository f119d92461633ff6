"""The policy against the area table of DESIGN.md: every role × area × action, own and other."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from cohortvault.access.policy import (
    GLOBAL_ROLES,
    Action,
    Area,
    AreaKind,
    Facility,
    Principal,
    Role,
    decide,
)

# DESIGN.md's area table, transcribed: who may read and who may write each kind of area.
# "owner" = the home's user, "member" = member of that site or project, "requester" = the
# exporter who asked, once approved, "everyone" = every account, "system" = the platform itself.
READ = {
    AreaKind.HOME: {"owner"},
    AreaKind.SITE_DATA: {"member", Role.DATA_MANAGER},
    AreaKind.SITE_IMPORT: {"member", Role.DATA_MANAGER},
    AreaKind.PROJECT: {"member", Role.DATA_MANAGER},
    AreaKind.LOGS: {"everyone", "system"},
    AreaKind.EXPORT_OUTBOX: {"requester", "system"},
}
WRITE = {
    AreaKind.HOME: {"owner"},
    AreaKind.SITE_DATA: {Role.DATA_MANAGER},
    AreaKind.SITE_IMPORT: {"member", Role.DATA_MANAGER},
    AreaKind.PROJECT: {"member", Role.DATA_MANAGER},
    AreaKind.LOGS: {Role.DATA_MANAGER, "system"},
    AreaKind.EXPORT_OUTBOX: {"system"},
}


def qualifies(principal: Principal, area: Area, who: set[object]) -> bool:
    if not principal.is_authenticated:
        return False
    if principal.is_system:
        return "system" in who
    return (
        "everyone" in who
        or any(role in who and principal.has(role) for role in GLOBAL_ROLES)
        or ("owner" in who and area.kind is AreaKind.HOME and area.key == principal.username)
        or (
            "member" in who
            and (
                (
                    area.kind in (AreaKind.SITE_DATA, AreaKind.SITE_IMPORT)
                    and area.key in principal.sites
                )
                or (area.kind is AreaKind.PROJECT and area.key in principal.projects)
            )
        )
        or ("requester" in who and area.requester == principal.username and area.approved)
    )


def expected(principal: Principal, action: Action, area: Area) -> bool:
    """What DESIGN.md says, action by action."""
    locked_out = area.locked_to and area.locked_to != principal.username
    if locked_out and not principal.has(Role.DATA_MANAGER):
        return False  # a file with personal data: its uploader and the data manager only
    if area.sealed and principal.is_system:
        return action in (Action.LIST, Action.READ, Action.WRITE, Action.DELETE)
    if area.sealed and action in (Action.WRITE, Action.DELETE):
        return False  # deliveries: the platform writes them, nobody changes them
    match action:
        case Action.LIST | Action.READ:
            return qualifies(principal, area, READ[area.kind])
        case Action.WRITE | Action.DELETE:
            return qualifies(principal, area, WRITE[area.kind])
        case Action.EXPORT:  # exporters export what they can read; outboxes are already out
            return (
                area.kind is not AreaKind.EXPORT_OUTBOX
                and principal.has(Role.EXPORTER)
                and qualifies(principal, area, READ[area.kind])
            )
        case Action.APPROVE:  # the data manager accepts imports
            return area.kind is AreaKind.SITE_IMPORT and principal.has(Role.DATA_MANAGER)
        case Action.ADMINISTER:
            return False


def person(
    username: str, *roles: Role, sites: tuple[str, ...] = (), projects: tuple[str, ...] = ()
) -> Principal:
    return Principal(
        user_id=hash(username) % 10_000 + 1,
        username=username,
        global_roles=frozenset(roles),
        sites=frozenset(sites),
        projects=frozenset(projects),
    )


PRINCIPALS = {
    "anonymous": Principal.anonymous(),
    "system": Principal.system(),
    "account without roles": person("nobody"),
    "administrator": person("admin", Role.ADMINISTRATOR),
    "data manager": person("dm", Role.DATA_MANAGER),
    "site member of s1": person("sm", sites=("s1",)),
    "member of sites s1 and s3": person("sm2", sites=("s1", "s3")),
    "project member of p1": person("pm", projects=("p1",)),
    "exporter": person("ex", Role.EXPORTER),
    "exporter in s1 and p1": person("ex2", Role.EXPORTER, sites=("s1",), projects=("p1",)),
    "approver": person("ap", Role.APPROVER),
    "data protection officer": person("dpo", Role.DATA_PROTECTION_OFFICER),
    "administrator and site member": person("adsm", Role.ADMINISTRATOR, sites=("s1",)),
}


def areas_for(principal: Principal) -> dict[str, Area]:
    """Each area kind in its 'own' and 'other' variant, as seen from ``principal``."""
    return {
        "own home": Area.home(principal.username or "nobody-at-all"),
        "other home": Area.home("someone-else"),
        "own site data": Area.site_data("s1"),
        "other site data": Area.site_data("s2"),
        "own site import": Area.site_import("s1"),
        "other site import": Area.site_import("s2"),
        "own locked file in site import": Area.site_import("s1").locked(principal.username),
        "colleague's locked file in site import": Area.site_import("s1").locked("someone-else"),
        "own project": Area.project("p1"),
        "own project's deliveries": Area.project("p1").sealing(),
        "other project": Area.project("p2"),
        "logs": Area.logs(),
        "own approved outbox": Area.export_outbox(
            "r1", requester=principal.username, approved=True
        ),
        "own pending outbox": Area.export_outbox(
            "r2", requester=principal.username, approved=False
        ),
        "other approved outbox": Area.export_outbox("r3", requester="someone-else", approved=True),
    }


@dataclass
class Mismatch:
    who: str
    action: Action
    area: str
    allowed: bool
    reason: str


def test_full_matrix_matches_design() -> None:
    cases = 0
    mismatches: list[Mismatch] = []
    for (who, principal), action in itertools.product(PRINCIPALS.items(), Action):
        for where, area in areas_for(principal).items():
            cases += 1
            decision = decide(principal, action, area)
            if decision.allowed != expected(principal, action, area):
                mismatches.append(Mismatch(who, action, where, decision.allowed, decision.reason))
    unexpected_allows = [m for m in mismatches if m.allowed]
    print(
        f"policy matrix: {cases} cases, {len(unexpected_allows)} unexpected allows, "
        f"{len(mismatches) - len(unexpected_allows)} unexpected denials"
    )
    assert cases == len(PRINCIPALS) * len(Action) * 15
    assert mismatches == []


def test_every_decision_has_a_reason() -> None:
    for principal in PRINCIPALS.values():
        for area in areas_for(principal).values():
            for action in Action:
                assert decide(principal, action, area).reason


def test_spot_checks_from_design() -> None:
    admin = PRINCIPALS["administrator"]
    assert not decide(admin, Action.READ, Area.site_data("s1"))  # no data access by role alone
    assert decide(PRINCIPALS["site member of s1"], Action.WRITE, Area.site_import("s1"))
    assert not decide(PRINCIPALS["site member of s1"], Action.WRITE, Area.site_data("s1"))
    assert not decide(PRINCIPALS["site member of s1"], Action.READ, Area.site_data("s2"))
    assert decide(PRINCIPALS["data manager"], Action.WRITE, Area.site_data("s2"))
    assert not decide(PRINCIPALS["data manager"], Action.READ, Area.home("someone"))


def test_facilities() -> None:
    dpo, admin = PRINCIPALS["data protection officer"], PRINCIPALS["administrator"]
    for who, principal in PRINCIPALS.items():
        assert decide(principal, Action.READ, Facility.AUDIT_TRAIL).allowed == (
            who == "data protection officer"
        )
        assert decide(principal, Action.ADMINISTER, Facility.CONSORTIUM).allowed == (
            principal.has(Role.ADMINISTRATOR)
        )
    assert not decide(dpo, Action.WRITE, Facility.AUDIT_TRAIL)
    assert not decide(admin, Action.READ, Facility.AUDIT_TRAIL)
    assert not decide(Principal.anonymous(), Action.READ, Facility.CONSORTIUM)


codes = st.sampled_from(["s1", "s2", "s3", "p1", "p2", "alice", "bob", ""])


@st.composite
def principals(draw: st.DrawFn) -> Principal:
    if draw(st.integers(0, 20)) == 0:
        return draw(st.sampled_from([Principal.anonymous(), Principal.system()]))
    return Principal(
        user_id=draw(st.integers(1, 1000)),
        username=draw(st.sampled_from(["alice", "bob", "carol"])),
        global_roles=frozenset(draw(st.sets(st.sampled_from(sorted(GLOBAL_ROLES))))),
        sites=frozenset(draw(st.sets(st.sampled_from(["s1", "s2", "s3"])))),
        projects=frozenset(draw(st.sets(st.sampled_from(["p1", "p2"])))),
    )


@st.composite
def areas(draw: st.DrawFn) -> Area:
    kind = draw(st.sampled_from(list(AreaKind)))
    if kind is AreaKind.EXPORT_OUTBOX:
        return Area.export_outbox(draw(codes), requester=draw(codes), approved=draw(st.booleans()))
    return Area(kind, "" if kind is AreaKind.LOGS else draw(codes))


@given(principals(), st.sampled_from(list(Action)), areas())
def test_any_combination_matches_design(principal: Principal, action: Action, area: Area) -> None:
    assert decide(principal, action, area).allowed == expected(principal, action, area)


# --- credentials with a narrower scope ---------------------------------------------------------

from cohortvault.access.policy import Request, RequestKind, Scope, Step  # noqa: E402


def scoped(principal: Principal, scope: Scope, project: str = "") -> Principal:
    return Principal(
        user_id=principal.user_id,
        username=principal.username,
        global_roles=principal.global_roles,
        sites=principal.sites,
        projects=principal.projects,
        scope=scope,
        scope_project=project,
    )


def expected_scoped(principal: Principal, action: Action, resource: object) -> bool:
    """A scope only ever takes away: full power, minus what the scope excludes."""
    allowed = decide(scoped(principal, Scope.FULL), action, resource).allowed  # type: ignore[arg-type]
    match principal.scope:
        case Scope.READ_ONLY:
            return allowed and action in (Action.LIST, Action.READ)
        case Scope.PROJECT:
            if isinstance(resource, Area):
                return allowed and resource == Area.project(principal.scope_project)
            return (
                allowed and resource is Facility.CONSORTIUM and action in (Action.LIST, Action.READ)
            )
        case Scope.AGGREGATE:
            return (
                allowed
                and resource in (Facility.AGGREGATES, Facility.CONSORTIUM)
                and action in (Action.LIST, Action.READ)
            )
    return allowed


def test_scopes_only_take_power_away() -> None:
    cases = unexpected = 0
    for who, principal in PRINCIPALS.items():
        if principal.is_system or not principal.is_authenticated:
            continue
        for scope, project in [(Scope.READ_ONLY, ""), (Scope.PROJECT, "p1"), (Scope.AGGREGATE, "")]:
            narrowed = scoped(principal, scope, project)
            resources = [*areas_for(principal).values(), *Facility]
            for resource, action in itertools.product(resources, Action):
                cases += 1
                got = decide(narrowed, action, resource).allowed  # type: ignore[arg-type]
                if got != expected_scoped(narrowed, action, resource):
                    unexpected += 1
                    print("mismatch", who, scope, action, resource)
    print(f"scoped credentials: {cases} cases, {unexpected} mismatches")
    assert cases > 1000 and unexpected == 0


def test_project_token_reaches_only_its_project() -> None:
    member = scoped(PRINCIPALS["exporter in s1 and p1"], Scope.PROJECT, "p1")
    assert decide(member, Action.WRITE, Area.project("p1"))
    assert not decide(member, Action.READ, Area.site_data("s1"))
    assert not decide(member, Action.READ, Area.project("p2"))
    assert not decide(member, Action.READ, Area.home(member.username))
    outsider = scoped(PRINCIPALS["site member of s1"], Scope.PROJECT, "p1")
    assert not decide(outsider, Action.READ, Area.project("p1"))  # the roles still decide


def test_aggregate_token_reads_no_files_and_no_audit_trail() -> None:
    dpo = scoped(PRINCIPALS["data protection officer"], Scope.AGGREGATE)
    assert decide(dpo, Action.READ, Facility.AGGREGATES)
    assert not decide(dpo, Action.READ, Facility.AUDIT_TRAIL)
    assert not decide(dpo, Action.READ, Area.logs())


# --- governance requests: four eyes -------------------------------------------------------------

STEP_HOLDER = {
    Step.CONFIRM: Role.DATA_PROTECTION_OFFICER,
    Step.ASSEMBLY: Role.APPROVER,
    Step.ADMINISTRATOR: Role.ADMINISTRATOR,
}


@given(
    roles=st.sets(st.sampled_from(sorted(GLOBAL_ROLES))),
    me=st.sampled_from(["alice", "bob", "carol"]),
    requester=st.sampled_from(["alice", "bob", "carol"]),
    subject=st.sampled_from(["alice", "bob", "carol", ""]),
    step=st.sampled_from(list(Step)),
    kind=st.sampled_from(list(RequestKind)),
)
def test_nobody_decides_their_own_request_or_one_about_themselves(
    roles: set[Role], me: str, requester: str, subject: str, step: Step, kind: RequestKind
) -> None:
    principal = Principal(user_id=1, username=me, global_roles=frozenset(roles))
    request = Request(kind, requester=requester, subject=subject, step=step)
    allowed = decide(principal, Action.APPROVE, request).allowed
    assert allowed == (me not in (requester, subject) and STEP_HOLDER[step] in roles)


def test_only_a_sites_contact_person_files_its_registrations() -> None:
    contact = Principal(
        user_id=1, username="c", sites=frozenset({"s1"}), contact_sites=frozenset({"s1"})
    )
    member = Principal(user_id=2, username="m", sites=frozenset({"s1"}))
    admin = PRINCIPALS["administrator"]
    for_s1 = Request(RequestKind.REGISTRATION, requester="c", site="s1")
    assert decide(contact, Action.WRITE, for_s1)
    assert not decide(
        contact, Action.WRITE, Request(RequestKind.REGISTRATION, requester="c", site="s2")
    )
    assert not decide(
        member, Action.WRITE, Request(RequestKind.REGISTRATION, requester="m", site="s1")
    )
    assert not decide(
        admin, Action.WRITE, Request(RequestKind.REGISTRATION, requester="admin", site="s1")
    )
    anyone = PRINCIPALS["account without roles"]
    assert decide(anyone, Action.WRITE, Request(RequestKind.ACCESS_CHANGE, requester="nobody"))
    assert not decide(
        Principal.system(), Action.WRITE, Request(RequestKind.ACCESS_CHANGE, requester="system")
    )


# --- project proposals and transfer agreements ---------------------------------------------


@given(
    roles=st.sets(st.sampled_from(sorted(GLOBAL_ROLES))),
    me=st.sampled_from(["alice", "bob", "carol", "dave"]),
    author=st.sampled_from(["alice", "bob"]),
    pi=st.sampled_from(["alice", "carol"]),
    members=st.sets(st.sampled_from(["bob", "carol", "dave"])),
)
def test_nobody_decides_a_proposal_they_wrote_lead_or_are_member_of(
    roles: set[Role], me: str, author: str, pi: str, members: set[str]
) -> None:
    principal = Principal(user_id=1, username=me, global_roles=frozenset(roles))
    proposal = Request(
        RequestKind.PROJECT_PROPOSAL,
        requester=author,
        subject=pi,
        step=Step.ASSEMBLY,
        concerns=frozenset(members),
    )
    named = me in {author, pi, *members}
    assert decide(principal, Action.APPROVE, proposal).allowed == (
        not named and Role.APPROVER in roles
    )
    assert decide(principal, Action.READ, proposal).allowed == (
        named or bool(roles & {Role.APPROVER, Role.ADMINISTRATOR, Role.DATA_MANAGER})
    )
    assert decide(principal, Action.WRITE, proposal).allowed == (me == author)


def test_anyone_drafts_a_proposal_but_the_system_does_not() -> None:
    for who, principal in PRINCIPALS.items():
        mine = Request(RequestKind.PROJECT_PROPOSAL, requester=principal.username)
        expected_allowed = principal.user_id is not None
        assert decide(principal, Action.WRITE, mine).allowed == expected_allowed, who


def test_agreements_are_recorded_by_data_managers_and_read_by_them_and_administrators() -> None:
    for who, principal in PRINCIPALS.items():
        manager = principal.has(Role.DATA_MANAGER)
        admin = principal.has(Role.ADMINISTRATOR)
        assert decide(principal, Action.WRITE, Facility.AGREEMENTS).allowed == manager, who
        assert decide(principal, Action.READ, Facility.AGREEMENTS).allowed == (manager or admin), (
            who
        )
        assert not decide(principal, Action.DELETE, Facility.AGREEMENTS), who
    member = PRINCIPALS["project member of p1"]
    assert not decide(member, Action.READ, Facility.AGREEMENTS)


# --- error tickets -----------------------------------------------------------------------------

from cohortvault.access.policy import Ticket  # noqa: E402


def expected_ticket(principal: Principal, action: Action, ticket: Ticket) -> bool:
    """DESIGN.md's correction workflow: anyone reports; the reporter, the site's members and
    the data manager see and discuss a ticket; only the data manager triages and corrects."""
    if not principal.is_authenticated or principal.is_system:
        return False
    reads = (
        principal.username == ticket.reporter
        or ticket.site in principal.sites
        or principal.has(Role.DATA_MANAGER)
    )
    if action in (Action.LIST, Action.READ, Action.WRITE):
        return reads
    return action is Action.APPROVE and principal.has(Role.DATA_MANAGER)


def test_ticket_matrix_matches_design() -> None:
    cases = unexpected_allows = 0
    for principal, action in itertools.product(PRINCIPALS.values(), Action):
        for ticket in (
            Ticket(site="s1", reporter=principal.username or "x"),  # own report, own site
            Ticket(site="s2", reporter=principal.username or "x"),  # own report, other site
            Ticket(site="s1", reporter="someone-else"),
            Ticket(site="s2", reporter="someone-else"),
        ):
            cases += 1
            got = decide(principal, action, ticket)
            assert got.reason
            if got.allowed and not expected_ticket(principal, action, ticket):
                unexpected_allows += 1
            assert got.allowed == expected_ticket(principal, action, ticket), (principal, action)
    print(f"ticket matrix: {cases} cases, {unexpected_allows} unexpected allows")
    assert cases == len(PRINCIPALS) * len(Action) * 4


def test_scopes_narrow_tickets() -> None:
    manager, member = PRINCIPALS["data manager"], PRINCIPALS["site member of s1"]
    ticket = Ticket(site="s1", reporter="someone-else")
    assert decide(scoped(member, Scope.READ_ONLY), Action.READ, ticket)
    assert not decide(scoped(member, Scope.READ_ONLY), Action.WRITE, ticket)
    assert not decide(scoped(manager, Scope.READ_ONLY), Action.APPROVE, ticket)
    for scope in (Scope.PROJECT, Scope.AGGREGATE):
        assert not decide(scoped(manager, scope, "p1"), Action.READ, ticket)
