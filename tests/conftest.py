"""Fixtures named for what they give. Every test runs in a transaction that is rolled back."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from cohortvault.access.policy import Role
from cohortvault.consortium.models import Project, Site
from cohortvault.identity.models import User
from tests import factories


def pytest_configure(config: pytest.Config) -> None:
    settings.PASSWORD_HASHERS = ["tests.hashers.FastArgon2PasswordHasher"]


@pytest.fixture(autouse=True)
def _blob_store(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Each test stores blobs in a folder of its own: the database is rolled back, disks not."""
    settings.DATA_DIR = tmp_path_factory.mktemp("data")


@pytest.fixture
def site() -> Site:
    return factories.make_site("oslo")


@pytest.fixture
def other_site() -> Site:
    return factories.make_site("berlin")


@pytest.fixture
def project() -> Project:
    return factories.make_project("alpha")


@pytest.fixture
def user() -> User:
    user = factories.make_user("plain")
    factories.enrol_totp(user)
    return user


def _member(username: str, role: Role, **scope: object) -> User:
    user = factories.make_user(username)
    factories.enrol_totp(user)
    factories.grant(user, role, **scope)  # type: ignore[arg-type]
    return user


@pytest.fixture
def administrator() -> User:
    return _member("admin1", Role.ADMINISTRATOR)


@pytest.fixture
def data_manager() -> User:
    return _member("dm1", Role.DATA_MANAGER)


@pytest.fixture
def dpo() -> User:
    return _member("dpo1", Role.DATA_PROTECTION_OFFICER)


@pytest.fixture
def site_member(site: Site) -> User:
    return _member("oslo1", Role.SITE_MEMBER, site=site)


@pytest.fixture
def client() -> Client:
    return Client()
