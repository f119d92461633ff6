"""Principals from memberships, administration through services, and their audit entries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cohortvault.access.policy import Action, Area, Principal, Role
from cohortvault.audit.models import AuditEntry
from cohortvault.consortium import services
from cohortvault.consortium.models import Membership, Project, Site
from cohortvault.errors import Conflict, Invalid, PermissionDenied
from cohortvault.identity.models import User
from tests import factories

pytestmark = pytest.mark.django_db


def test_principal_collects_roles_sites_and_projects(
    site: Site, other_site: Site, project: Project
) -> None:
    user = factories.make_user("multi")
    factories.grant(user, Role.SITE_MEMBER, site=site)
    factories.grant(user, Role.SITE_MEMBER, site=other_site)
    factories.grant(user, Role.PROJECT_MEMBER, project=project)
    factories.grant(user, Role.EXPORTER)
    principal = services.principal_for_user(user)
    assert principal.sites == {"oslo", "berlin"}
    assert principal.projects == {"alpha"}
    assert principal.global_roles == {Role.EXPORTER}
    assert principal.roles == {Role.EXPORTER, Role.SITE_MEMBER, Role.PROJECT_MEMBER}


def test_lapsed_ended_and_future_memberships_do_not_count(
    site: Site, other_site: Site, project: Project
) -> None:
    user = factories.make_user("timed")
    factories.grant(
        user, Role.SITE_MEMBER, site=site, valid_until=timezone.now() - timedelta(seconds=1)
    )
    ended = factories.grant(user, Role.SITE_MEMBER, site=other_site)
    ended.ended_at = timezone.now()
    ended.save()
    future = factories.grant(user, Role.DATA_MANAGER)
    future.valid_from = timezone.now() + timedelta(days=1)
    future.save()
    assert services.principal_for_user(user) == Principal(user_id=user.pk, username="timed")


def test_membership_with_an_end_date_lapses_by_itself(site: Site) -> None:
    user = factories.make_user("temp")
    membership = factories.grant(
        user, Role.SITE_MEMBER, site=site, valid_until=timezone.now() + timedelta(hours=1)
    )
    assert services.principal_for_user(user).sites == {"oslo"}
    Membership.objects.filter(pk=membership.pk).update(
        valid_until=timezone.now() - timedelta(seconds=1)
    )
    assert services.principal_for_user(user).sites == frozenset()


def test_closed_projects_grant_nothing(project: Project) -> None:
    user = factories.make_user("pm")
    factories.grant(user, Role.PROJECT_MEMBER, project=project)
    project.status = Project.Status.CLOSED
    project.save()
    assert services.principal_for_user(user).projects == frozenset()


def test_inactive_user_is_anonymous(site: Site) -> None:
    user = factories.make_user("gone", is_active=False)
    factories.grant(user, Role.SITE_MEMBER, site=site)
    assert not services.principal_for_user(user).is_authenticated


def test_reachable_areas_follow_the_policy(
    site: Site, other_site: Site, project: Project, data_manager: User
) -> None:
    reach = {a.area: a.actions for a in services.reachable_areas(factories.principal(data_manager))}
    assert Area.site_data("berlin") in reach and Area.project("alpha") in reach
    assert reach[Area.site_import("oslo")] == (
        Action.LIST,
        Action.READ,
        Action.WRITE,
        Action.DELETE,
        Action.APPROVE,
    )
    assert Area.home("dm1") in reach and Area.home("someone") not in reach


def test_administrator_changes_are_audited(administrator: User, site: Site) -> None:
    admin = factories.principal(administrator)
    user = factories.make_user("newcomer")
    membership = services.grant_membership(
        admin, username="newcomer", role=Role.SITE_MEMBER, site=site, reason="joins the Oslo team"
    )
    entry = AuditEntry.objects.get(action="membership.grant")
    assert (entry.actor, entry.target, entry.reason) == (
        "admin1",
        "user newcomer",
        "joins the Oslo team",
    )
    assert entry.details["group"] == "site_member:oslo"
    assert services.principal_for_user(user).sites == {"oslo"}
    services.end_membership(admin, membership, reason="left")
    assert services.principal_for_user(user).sites == frozenset()
    assert AuditEntry.objects.filter(action="membership.end", target="user newcomer").exists()
    assert Membership.objects.filter(user=user).count() == 1  # history is kept


def test_grant_refuses_duplicates_and_wrong_scopes(administrator: User, site: Site) -> None:
    admin = factories.principal(administrator)
    factories.make_user("x")
    services.grant_membership(admin, username="x", role=Role.SITE_MEMBER, site=site)
    with pytest.raises(Conflict):
        services.grant_membership(admin, username="x", role=Role.SITE_MEMBER, site=site)
    with pytest.raises(Invalid):
        services.grant_membership(admin, username="x", role=Role.SITE_MEMBER)
    with pytest.raises(Invalid):
        services.grant_membership(admin, username="x", role=Role.EXPORTER, site=site)


@pytest.mark.parametrize("fixture", ["data_manager", "site_member", "dpo", "user"])
def test_only_the_administrator_administers(
    fixture: str, request: pytest.FixtureRequest, site: Site
) -> None:
    someone = request.getfixturevalue(fixture)
    factories.make_user("target")
    with pytest.raises(PermissionDenied):
        services.grant_membership(
            factories.principal(someone), username="target", role=Role.DATA_MANAGER
        )
    with pytest.raises(PermissionDenied):
        services.create_site(factories.principal(someone), code="evil", name="Evil", country="XX")
    denied = AuditEntry.objects.filter(
        actor=someone.username, outcome="denied", action="access.administer"
    )
    assert denied.count() == 2
    assert not Membership.objects.filter(user__username="target").exists()
    assert not Site.objects.filter(code="evil").exists()


def test_site_codes_are_validated(administrator: User) -> None:
    admin = factories.principal(administrator)
    for bad in ["../etc", "Oslo", "a b", "-x", ""]:
        with pytest.raises(Invalid):
            services.create_site(admin, code=bad, name="Bad", country="NO")
    assert services.create_site(admin, code="new-site", name="New", country="no").country == "NO"


def test_bootstrap_only_once() -> None:
    services.bootstrap_administrator(username="first", password=factories.PASSWORD)
    assert services.principal_for_user(User.objects.get(username="first")).has(Role.ADMINISTRATOR)
    with pytest.raises(Conflict):
        services.bootstrap_administrator(username="second", password=factories.PASSWORD)
    assert not User.objects.filter(username="second").exists()


def test_weak_bootstrap_password_is_refused() -> None:
    with pytest.raises(Invalid) as refused:
        services.bootstrap_administrator(username="first", password="123")
    assert refused.value.details
