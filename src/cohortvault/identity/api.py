"""Identity routes: exchanging credentials for a short-lived token, and giving it back."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.responses import Status

from cohortvault.access.policy import Action
from cohortvault.access.requirements import Stage, requires
from cohortvault.errors import NotAuthenticated
from cohortvault.identity import services

router = Router(tags=["auth"])


class TokenRequest(Schema):
    username: str
    password: str
    otp: str


class TokenOut(Schema):
    token: str
    expires_at: datetime


@router.post("/token", auth=None, response={200: TokenOut})
@requires(Stage.PUBLIC)
def create_token(request: HttpRequest, payload: TokenRequest) -> TokenOut:
    """Exchange username, password and a current one-time code for a bearer token."""
    issued = services.issue_login_token(payload.username, payload.password, payload.otp)
    return TokenOut(token=issued.token, expires_at=issued.expires_at)


@router.delete("/token", response={204: None})
@requires(Stage.VERIFIED, Action.WRITE, "own token")
def revoke_token(request: HttpRequest) -> Status[None]:
    """Revoke the bearer token this request was made with."""
    token = getattr(request, "api_token", None)
    if token is None:
        raise NotAuthenticated("Only a bearer token can revoke itself.")
    services.revoke_token(request.user, token)
    return Status(204, None)
