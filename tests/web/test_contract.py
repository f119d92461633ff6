"""Every URL pattern and API route declares what it requires, and the gate enforces it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from cohortvault.access.policy import Action
from cohortvault.access.requirements import Stage, requirement_of
from cohortvault.api import api

# Django's admin is gated as a whole (verified session, then AdminSite.has_permission asks the
# policy for `administer consortium`); ninja's own pages are the public API description.
NINJA_BUILTINS = {"openapi_json", "openapi_view", "default_home"}


def walk(
    patterns: list[Any], prefix: str = "", namespaces: tuple[str, ...] = ()
) -> Iterator[tuple[str, tuple[str, ...], Any]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = (*namespaces, pattern.namespace) if pattern.namespace else namespaces
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
        else:
            assert isinstance(pattern, URLPattern)
            yield prefix + str(pattern.pattern), namespaces, pattern.callback


ROUTES = list(walk(get_resolver().url_patterns))
PAGES = [(route, cb) for route, ns, cb in ROUTES if "api" not in ns and "admin" not in ns]


def api_operations() -> Iterator[tuple[str, Any]]:
    for bound in api._get_bound_routers():
        for path, path_view in bound.path_operations.items():
            for operation in path_view.operations:
                yield f"{'/'.join(operation.methods)} {bound.prefix}{path}", operation


def test_there_are_routes_to_check() -> None:
    assert len(PAGES) >= 8
    assert len(list(api_operations())) >= 4


@pytest.mark.parametrize(("route", "callback"), PAGES, ids=[r for r, _ in PAGES])
def test_every_page_declares_its_requirement(route: str, callback: Any) -> None:
    requirement = requirement_of(callback)
    assert requirement is not None, f"{route} declares no @requires"
    if requirement.stage is Stage.VERIFIED:
        assert isinstance(requirement.action, Action) and requirement.resource


@pytest.mark.parametrize(
    ("name", "operation"), list(api_operations()), ids=[n for n, _ in api_operations()]
)
def test_every_api_route_declares_its_requirement(name: str, operation: Any) -> None:
    requirement = requirement_of(operation.view_func)
    assert requirement is not None, f"{name} declares no @requires"
    if requirement.stage is Stage.PUBLIC:
        assert not operation.auth_callbacks, f"{name} is public but authenticates"
    else:
        assert requirement.stage is Stage.VERIFIED
        assert operation.auth_callbacks, f"{name} needs a verified caller but has no auth"
        assert isinstance(requirement.action, Action) and requirement.resource


def test_only_ninja_builtins_are_undeclared_api_views() -> None:
    api_callbacks = [cb for _, ns, cb in ROUTES if "api" in ns]
    builtins = {cb.func.__name__ for cb in api_callbacks if hasattr(cb, "func")}
    assert builtins <= NINJA_BUILTINS
    wrappers = [cb for cb in api_callbacks if not hasattr(cb, "func")]
    # one URL pattern per path; every operation was found through the routers
    assert len(wrappers) >= len({name.split(" ", 1)[1] for name, _ in api_operations()})


VERIFIED_PAGES = [
    route
    for route, cb in PAGES
    if (req := requirement_of(cb)) and req.stage is Stage.VERIFIED and "<" not in route
]


@pytest.mark.django_db
@pytest.mark.parametrize("route", VERIFIED_PAGES)
def test_verified_pages_turn_anonymous_visitors_to_login(route: str) -> None:
    response = Client().get("/" + route)
    assert response.status_code == 302 and response.url.startswith("/login/")


@pytest.mark.django_db
@pytest.mark.parametrize("name", [n for n, op in api_operations() if op.auth_callbacks])
def test_authenticated_api_routes_refuse_anonymous_callers(name: str) -> None:
    method, path = name.split(" ", 1)
    method = method.split("/")[0].lower()
    response = getattr(Client(), method)("/api/v1" + path)
    assert response.status_code == 401
