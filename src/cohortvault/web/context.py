"""Template context shared by every page: who is signed in and what the menu offers."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from cohortvault.access.policy import Principal, Role


def navigation(request: HttpRequest) -> dict[str, Any]:
    principal: Principal = getattr(request, "principal", Principal.anonymous())
    return {
        "principal": principal,
        "is_administrator": principal.is_authenticated and principal.has(Role.ADMINISTRATOR),
        "is_dpo": principal.is_authenticated and principal.has(Role.DATA_PROTECTION_OFFICER),
    }
