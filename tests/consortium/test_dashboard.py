"""The dashboard shows my roles and exactly the areas the policy lets me reach."""

from __future__ import annotations

import re

import pytest

from cohortvault.access.policy import Role
from cohortvault.consortium.models import Project, Site
from cohortvault.identity.models import User
from tests import factories

pytestmark = pytest.mark.django_db


def area_paths(html: bytes) -> set[str]:
    table = html.split(b'id="areas"', 1)[1]
    return set(re.findall(r"<code>([^<]+)/</code>", table.decode()))


def test_member_of_two_sites_sees_both(site: Site, other_site: Site, project: Project) -> None:
    user = factories.make_user("ingrid")
    factories.grant(user, Role.SITE_MEMBER, site=site)
    factories.grant(user, Role.SITE_MEMBER, site=other_site)
    factories.make_site("madrid")
    page = factories.signed_in_client(user).get("/")
    assert page.status_code == 200
    assert area_paths(page.content) == {
        "home/ingrid",
        "logs",
        "sites/oslo/data",
        "sites/oslo/import",
        "sites/berlin/data",
        "sites/berlin/import",
    }
    assert b"site_member" in page.content


def test_administrator_has_no_data_areas(administrator: User, site: Site, project: Project) -> None:
    page = factories.signed_in_client(administrator).get("/")
    assert area_paths(page.content) == {"home/admin1", "logs"}
    assert b"Administration" in page.content


def test_data_manager_reaches_every_site_and_project(
    data_manager: User, site: Site, other_site: Site, project: Project
) -> None:
    paths = area_paths(factories.signed_in_client(data_manager).get("/").content)
    assert {"sites/oslo/data", "sites/berlin/import", "projects/alpha"} <= paths


def test_account_without_roles_sees_home_and_logs(user: User, site: Site) -> None:
    page = factories.signed_in_client(user).get("/")
    assert area_paths(page.content) == {"home/plain", "logs"}
    assert b"No roles yet" in page.content


def test_dashboard_escapes_names(site: Site) -> None:
    user = factories.make_user("xss", first_name="<script>alert(1)</script>")
    page = factories.signed_in_client(user).get("/")
    assert b"<script>alert(1)</script>" not in page.content
    assert b"&lt;script&gt;" in page.content
