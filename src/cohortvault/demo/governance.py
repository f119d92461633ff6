"""Governance for the demo: contact persons, and requests at every stage of their chains."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from cohortvault.access.policy import Principal, Role
from cohortvault.consortium.models import Membership
from cohortvault.consortium.services import principal_for_user
from cohortvault.governance import services as governance
from cohortvault.governance.services import GroupRef

#: One contact person per site: they may request accounts for it.
CONTACTS = {
    "oslo": "oslo-kari",
    "uppsala": "uppsala-lars",
    "aarhus": "aarhus-mette",
    "berlin": "berlin-jonas",
    "madrid": "madrid-lucia",
}


def _principal(username: str) -> Principal:
    return principal_for_user(get_user_model().objects.get(username=username))


def populate() -> None:
    for site, username in CONTACTS.items():
        Membership.objects.active().filter(
            user__username=username, group__role=Role.SITE_MEMBER, group__site__code=site
        ).update(is_contact=True)
    kari, lars = _principal("oslo-kari"), _principal("uppsala-lars")
    dpo, olav = _principal("dpo"), _principal("approver-olav")

    # A registration waiting for the data protection officer, and one waiting for the administrator.
    governance.request_registration(
        kari, site="oslo", first_name="Sofie", last_name="Berg", email="sofie.berg@demo.invalid",
        reason="New PhD student in the Oslo memory group.",
        groups=[GroupRef(Role.PROJECT_MEMBER, project="memory-decline")],
    )  # fmt: skip
    waiting = governance.request_registration(
        lars, site="uppsala", first_name="Erik", last_name="Lind", email="erik.lind@demo.invalid",
        reason="Statistician joining the Uppsala cohort team.",
    )  # fmt: skip
    governance.decide_registration(dpo, waiting.pk, approve=True, fresh=True)

    # Access changes: one awaiting the administrator, one the general assembly, one refused.
    governance.request_access_change(
        kari, username="oslo-kari", group=GroupRef(Role.PROJECT_MEMBER, project="brain-age"),
        operation="add", reason="Co-author of the brain-age analysis plan.",
    )  # fmt: skip
    governance.request_access_change(
        _principal("multi-ingrid"), username="multi-ingrid", group=GroupRef(Role.EXPORTER),
        operation="add", reason="Will export the brain-age summary tables for the paper.",
    )  # fmt: skip
    refused = governance.request_access_change(
        lars, username="uppsala-lars", group=GroupRef(Role.DATA_MANAGER), operation="add",
        reason="Would like to curate the Uppsala data myself.",
    )  # fmt: skip
    governance.decide_access_request(
        olav, refused.pk, approve=False, fresh=True,
        reason="The assembly keeps curation with the data management team.",
        reference="General assembly 2026-10-14, item 7",
    )  # fmt: skip
