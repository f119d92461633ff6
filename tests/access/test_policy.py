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
        "own project": Area.project("p1"),
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
    assert cases == len(PRINCIPALS) * len(Action) * 12
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
