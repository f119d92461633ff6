"""The router the project routes share, and the caller's principal."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from cohortvault.access.policy import Principal

router = Router(tags=["projects"])


def principal(request: HttpRequest) -> Principal:
    return request.principal  # type: ignore[attr-defined,no-any-return]
