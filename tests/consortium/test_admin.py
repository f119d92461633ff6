"""The administration pages: administrators only, behind the second factor, every change audited."""

from __future__ import annotations

import pytest
from django.test import Client

from cohortvault.access.policy import Role
from cohortvault.audit.models import AuditEntry
from cohortvault.consortium.models import Group, Membership, Site
from cohortvault.identity.models import User
from tests import factories

pytestmark = pytest.mark.django_db


def test_administrator_sees_the_administration(administrator: User) -> None:
    client = factories.signed_in_client(administrator)
    page = client.get("/admin/")
    assert page.status_code == 200
    for model in (b"Sites", b"Studies", b"Memberships", b"Users"):
        assert model in page.content


def test_administrator_without_second_factor_is_sent_to_verify(administrator: User) -> None:
    client = Client()
    client.post("/login/", {"username": "admin1", "password": factories.PASSWORD})
    assert client.get("/admin/").url == "/login/verify/"


@pytest.mark.parametrize("fixture", ["data_manager", "dpo", "site_member", "user"])
def test_everyone_else_is_refused_and_audited(fixture: str, request: pytest.FixtureRequest) -> None:
    someone: User = request.getfixturevalue(fixture)
    client = factories.signed_in_client(someone)
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert b"Sites" not in response.content
    assert AuditEntry.objects.filter(
        actor=someone.username, outcome="denied", target="administration pages"
    ).exists()
    assert client.get("/admin/consortium/site/").status_code in (302, 403)


def test_creating_a_site_in_the_administration_is_audited(administrator: User) -> None:
    client = factories.signed_in_client(administrator)
    response = client.post(
        "/admin/consortium/site/add/", {"code": "tromso", "name": "Tromsø", "country": "NO"}
    )
    assert response.status_code == 302
    assert Site.objects.filter(code="tromso").exists()
    entry = AuditEntry.objects.get(action="consortium.site.create")
    assert entry.actor == "admin1" and "Tromsø" in entry.target


def test_memberships_change_only_through_access_requests(administrator: User, site: Site) -> None:
    person = factories.make_user("newbie")
    group = Group.objects.create(role=Role.SITE_MEMBER, site=site)
    membership = Membership.objects.create(user=person, group=group)
    client = factories.signed_in_client(administrator)
    assert client.get("/admin/consortium/membership/").status_code == 200
    assert client.get("/admin/consortium/membership/add/").status_code == 403
    response = client.post(
        "/admin/consortium/membership/add/",
        {"user": person.pk, "group": group.pk, "reason": "sneaking in"},
    )
    assert response.status_code == 403
    client.post(f"/admin/consortium/membership/{membership.pk}/delete/", {"post": "yes"})
    membership.refresh_from_db()
    assert membership.ended_at is None
    assert Membership.objects.filter(user=person).count() == 1


def test_disabling_a_user_in_the_administration_is_audited(administrator: User, user: User) -> None:
    client = factories.signed_in_client(administrator)
    victim_client = factories.signed_in_client(user)
    response = client.post(
        f"/admin/identity/user/{user.pk}/change/",
        {
            "username": "plain",
            "first_name": "",
            "last_name": "",
            "email": user.email,
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content[:3000]
    user.refresh_from_db()
    assert not user.is_active
    entry = AuditEntry.objects.get(action="user.disable")
    assert (entry.actor, entry.target) == ("admin1", "user plain")
    assert not AuditEntry.objects.filter(action="consortium.user.update").exists()
    assert victim_client.get("/").status_code == 302


def test_password_reset_in_the_administration_is_audited(administrator: User, user: User) -> None:
    client = factories.signed_in_client(administrator)
    new = "a completely new passphrase 77"
    response = client.post(
        f"/admin/identity/user/{user.pk}/password/",
        {"password1": new, "password2": new, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content[:3000]
    user.refresh_from_db()
    assert user.check_password(new)
    assert AuditEntry.objects.filter(action="user.password_reset", target="user plain").exists()


def test_admin_sign_out_signs_out(administrator: User) -> None:
    client = factories.signed_in_client(administrator)
    response = client.post("/admin/logout/", follow=True)
    assert response.redirect_chain[0] == ("/logout/", 307)
    assert client.get("/").status_code == 302
    assert AuditEntry.objects.filter(action="logout", actor="admin1").exists()
