"""Builders for the objects tests need: users with second factors, sites, projects, memberships,
and clients signed in the way a real user would be."""

from __future__ import annotations

import itertools
import time
from datetime import datetime
from typing import Any

from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from cohortvault.access.policy import Principal, Role
from cohortvault.consortium.models import Group, Membership, Project, Site, Study, Timepoint
from cohortvault.consortium.services import principal_for_user
from cohortvault.demo import current_code
from cohortvault.identity.models import User
from cohortvault.identity.services import base32_secret
from cohortvault.web.freshness import VERIFIED_AT

PASSWORD = "correct horse battery staple 42"
_serial = itertools.count(1)


def make_user(username: str | None = None, *, password: str = PASSWORD, **fields: Any) -> User:
    username = username or f"user{next(_serial)}"
    user = User(username=username, email=f"{username}@example.invalid", **fields)
    user.set_password(password)
    user.save()
    return user


def enrol_totp(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def code_for(device: TOTPDevice, *, at: float | None = None) -> str:
    return current_code(base32_secret(device), at=at)


def make_site(code: str = "oslo", *, name: str | None = None, waves: int = 2) -> Site:
    site = Site.objects.create(code=code, name=name or code.title(), country="NO")
    study = Study.objects.create(site=site, code="study", name=f"{code} study")
    for order in range(1, waves + 1):
        Timepoint.objects.create(
            study=study, code=f"wave{order}", label=f"Wave {order}", order=order
        )
    return site


def make_project(code: str = "alpha", *, status: str = Project.Status.ACTIVE) -> Project:
    return Project.objects.create(code=code, title=f"Project {code}", status=status)


def grant(
    user: User,
    role: Role,
    *,
    site: Site | None = None,
    project: Project | None = None,
    valid_until: datetime | None = None,
) -> Membership:
    group, _ = Group.objects.get_or_create(role=role.value, site=site, project=project)
    return Membership.objects.create(user=user, group=group, valid_until=valid_until)


def principal(user: User) -> Principal:
    return principal_for_user(user)


def signed_in_client(user: User, device: TOTPDevice | None = None, **client_kwargs: Any) -> Client:
    """A test client whose session passed password and second factor, as after a real login."""
    client = Client(**client_kwargs)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    device = (
        device or TOTPDevice.objects.filter(user=user, confirmed=True).first() or enrol_totp(user)
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session[VERIFIED_AT] = time.time()
    session.save()
    return client


def now() -> datetime:
    return timezone.now()
