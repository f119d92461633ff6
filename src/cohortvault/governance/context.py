"""Template context for every page: the unread notification count and whether the menu shows
the decision queue."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from cohortvault.access.policy import Principal, Role
from cohortvault.governance.notify import unread

DECIDING_ROLES = (Role.ADMINISTRATOR, Role.DATA_PROTECTION_OFFICER, Role.APPROVER)


def governance(request: HttpRequest) -> dict[str, Any]:
    principal: Principal = getattr(request, "principal", Principal.anonymous())
    if not principal.is_authenticated or principal.user_id is None:
        return {}
    return {
        "unread_notifications": unread(request.user),
        "is_decider": any(principal.has(role) for role in DECIDING_ROLES),
    }
