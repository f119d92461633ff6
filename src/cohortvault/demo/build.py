"""Build the synthetic consortium through the same service functions the web pages use, as the
first administrator, so the demo's audit trail looks like a real instance's."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from cohortvault.access.policy import Role
from cohortvault.consortium import services as consortium
from cohortvault.consortium.models import Project, Site
from cohortvault.demo import (
    CREDENTIALS_FILE,
    deliveries,
    dictionary,
    governance,
    imports,
    samples,
    tickets,
)
from cohortvault.demo import projects as proposals
from cohortvault.identity import services as identity

SITES = [
    (
        "oslo",
        "Oslo University Hospital",
        "NO",
        "ageing",
        "Oslo Ageing Study",
        ["wave1", "wave2", "wave3"],
    ),
    (
        "uppsala",
        "Uppsala University",
        "SE",
        "uls",
        "Uppsala Longitudinal Study",
        ["baseline", "followup"],
    ),
    (
        "aarhus",
        "Aarhus University Hospital",
        "DK",
        "dmc",
        "Danish Memory Cohort",
        ["visit1", "visit2"],
    ),
    ("berlin", "Charité Berlin", "DE", "bbs", "Berlin Brain Study", ["t0", "t1", "t2"]),
    (
        "madrid",
        "Hospital Clínico San Carlos",
        "ES",
        "mhc",
        "Madrid Healthy Cognition",
        ["v1", "v2"],
    ),
]

PROJECTS = [
    ("memory-decline", "Memory decline across Nordic cohorts"),
    ("brain-age", "MRI brain age and cognition"),
]


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    global_roles: tuple[Role, ...] = ()
    sites: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    note: str = ""
    roles: list[str] = field(default_factory=list)


USERS = [
    DemoUser("admin", "Astrid", "Admin", (Role.ADMINISTRATOR,), note="consortium administrator"),
    DemoUser(
        "dpo",
        "Daniel",
        "Protector",
        (Role.DATA_PROTECTION_OFFICER,),
        note="data protection officer",
    ),
    DemoUser("dm-anna", "Anna", "Curator", (Role.DATA_MANAGER,), note="data manager"),
    DemoUser("dm-backup", "Bjørn", "Backup", (Role.DATA_MANAGER,), note="back-up data manager"),
    DemoUser("approver-olav", "Olav", "Assembly", (Role.APPROVER,), note="general assembly member"),
    DemoUser(
        "exporter-eva",
        "Eva",
        "Export",
        (Role.EXPORTER,),
        ("oslo",),
        ("memory-decline",),
        note="exporter, Oslo site member, memory-decline project",
    ),
    DemoUser(
        "oslo-kari",
        "Kari",
        "Nordmann",
        (),
        ("oslo",),
        ("memory-decline",),
        note="Oslo site member in the memory-decline project",
    ),
    DemoUser(
        "uppsala-lars",
        "Lars",
        "Svensson",
        (),
        ("uppsala",),
        (),
        note="Uppsala site member in no project",
    ),
    DemoUser(
        "aarhus-mette",
        "Mette",
        "Hansen",
        (),
        ("aarhus",),
        ("memory-decline",),
        note="Aarhus site member in the memory-decline project",
    ),
    DemoUser(
        "berlin-jonas",
        "Jonas",
        "Müller",
        (),
        ("berlin",),
        ("brain-age",),
        note="Berlin site member in the brain-age project",
    ),
    DemoUser(
        "madrid-lucia",
        "Lucía",
        "García",
        (),
        ("madrid",),
        (),
        note="Madrid site member in no project",
    ),
    DemoUser(
        "multi-ingrid",
        "Ingrid",
        "Lund",
        (),
        ("oslo", "uppsala"),
        ("brain-age",),
        note="member of two sites (Oslo and Uppsala) and the brain-age project",
    ),
    DemoUser(
        "guest-nora",
        "Nora",
        "Newcomer",
        (),
        (),
        (),
        note="an account without any role: common area and home only",
    ),
]


def build(data_dir: Path) -> list[dict[str, Any]]:
    """Fill a fresh instance with the synthetic consortium; write the credentials file."""
    admin_password = _password()
    admin = consortium.bootstrap_administrator(username="admin", password=admin_password)
    principal = consortium.principal_for_user(admin)
    credentials = []
    with transaction.atomic():
        sites: dict[str, Site] = {}
        for code, name, country, study_code, study_name, waves in SITES:
            site = consortium.create_site(principal, code=code, name=name, country=country)
            sites[code] = site
            study = consortium.create_study(principal, site=site, code=study_code, name=study_name)
            for order, wave in enumerate(waves, start=1):
                consortium.create_timepoint(
                    principal, study=study, code=wave, label=wave.capitalize(), order=order
                )
        projects: dict[str, Project] = {
            code: consortium.create_project(principal, code=code, title=title)
            for code, title in PROJECTS
        }
        for person in USERS:
            password = admin_password if person.username == "admin" else _password()
            user = (
                admin
                if person.username == "admin"
                else identity.create_user(
                    username=person.username,
                    password=password,
                    email=f"{person.username}@demo.cohortvault.invalid",
                    first_name=person.first_name,
                    last_name=person.last_name,
                )
            )
            if person.username == "admin":
                user.first_name, user.last_name = person.first_name, person.last_name
                user.save(update_fields=["first_name", "last_name"])
            for role in person.global_roles:
                if person.username != "admin":
                    consortium.grant_membership(
                        principal, username=person.username, role=role, reason="demo consortium"
                    )
            for site_code in person.sites:
                consortium.grant_membership(
                    principal,
                    username=person.username,
                    role=Role.SITE_MEMBER,
                    site=sites[site_code],
                    reason="demo consortium",
                )
            for project_code in person.projects:
                consortium.grant_membership(
                    principal,
                    username=person.username,
                    role=Role.PROJECT_MEMBER,
                    project=projects[project_code],
                    reason="demo consortium",
                )
            device = TOTPDevice.objects.create(user=user, name="Demo authenticator", confirmed=True)
            roles = sorted(
                {r.value for r in person.global_roles}
                | ({Role.SITE_MEMBER.value} if person.sites else set())
                | ({Role.PROJECT_MEMBER.value} if person.projects else set())
            )
            credentials.append(
                {
                    "username": person.username,
                    "password": password,
                    "totp_secret": identity.base32_secret(device),
                    "roles": roles,
                    "sites": list(person.sites),
                    "projects": list(person.projects),
                    "note": person.note,
                }
            )
    governance.populate()
    dictionary.populate()
    site_members = {
        "oslo": "oslo-kari",
        "uppsala": "uppsala-lars",
        "aarhus": "aarhus-mette",
        "berlin": "berlin-jonas",
        "madrid": "madrid-lucia",
    }
    samples.populate(site_members)
    imports.populate(site_members)
    proposals.populate()
    deliveries.populate()
    tickets.populate()
    _with_current_projects(credentials)
    path = data_dir / CREDENTIALS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(credentials, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
    return credentials


def _with_current_projects(credentials: list[dict[str, Any]]) -> None:
    """Approved proposals granted project memberships after the users were made."""
    users = get_user_model().objects
    for entry in credentials:
        principal = consortium.principal_for_user(users.get(username=entry["username"]))
        entry["projects"] = sorted(principal.projects)
        if principal.projects and Role.PROJECT_MEMBER.value not in entry["roles"]:
            entry["roles"] = sorted([*entry["roles"], Role.PROJECT_MEMBER.value])


def _password() -> str:
    return "demo-" + secrets.token_urlsafe(12)
