"""How API requests authenticate: a bearer token, or a browser session past its second factor.

Both set ``request.principal`` from the memberships valid at this very request, so a removed
membership or a disabled account takes effect at the next call. A token's principal carries
the token's scope (``access.policy.Scope``), which the policy applies on top of the roles:
login tokens are full, personal tokens as narrow as they were made.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.http import HttpRequest
from ninja.security import APIKeyCookie, HttpBearer

from cohortvault.access.policy import Principal
from cohortvault.access.principals import principal_for
from cohortvault.identity.models import ApiToken
from cohortvault.identity.services import authenticate_token
from cohortvault.identity.tokens import scope_of
from cohortvault.web.middleware import is_verified


def token_principal(api_token: ApiToken) -> Principal | None:
    """The principal of a token's user, narrowed to the token's scope; None if the stored
    scope is not one this release knows (such a token authenticates nothing)."""
    scope = scope_of(api_token)
    if scope is None:
        return None
    return dataclasses.replace(
        principal_for(api_token.user), scope=scope, scope_project=api_token.scope_project
    )


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = authenticate_token(token)
        if api_token is None:
            return None
        principal = token_principal(api_token)
        if principal is None:
            return None
        request.user = api_token.user
        request.api_token = api_token  # type: ignore[attr-defined]
        request.principal = principal  # type: ignore[attr-defined]
        return api_token.user


class VerifiedSession(APIKeyCookie):
    """Django's session cookie, accepted only once the second factor was given (CSRF checked)."""

    param_name = "cohortvault_session"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        if is_verified(user):
            request.principal = principal_for(user)  # type: ignore[attr-defined]
            return user
        return None


def credential_of(request: HttpRequest) -> ApiToken | None:
    """The token the request authenticated with; None for a browser session."""
    token = getattr(request, "api_token", None)
    return token if isinstance(token, ApiToken) else None
