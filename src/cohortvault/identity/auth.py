"""How API requests authenticate: a bearer token, or a browser session past its second factor.

Both set ``request.principal`` from the memberships valid at this very request, so a removed
membership or a disabled account takes effect at the next call.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import APIKeyCookie, HttpBearer

from cohortvault.access.principals import principal_for
from cohortvault.identity.services import authenticate_token
from cohortvault.web.middleware import is_verified


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = authenticate_token(token)
        if api_token is None:
            return None
        request.user = api_token.user
        request.api_token = api_token  # type: ignore[attr-defined]
        request.principal = principal_for(api_token.user)  # type: ignore[attr-defined]
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
