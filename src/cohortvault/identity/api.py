"""Identity routes: exchanging credentials for a short-lived token and giving it back (mounted
at ``/auth``), and managing personal tokens (``tokens_router``, mounted at ``/tokens``)."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.responses import Status

from cohortvault.access.policy import Action
from cohortvault.access.requirements import Stage, requires
from cohortvault.errors import NotAuthenticated
from cohortvault.identity import services, tokens
from cohortvault.identity.auth import credential_of
from cohortvault.web.freshness import is_fresh

router = Router(tags=["auth"])
tokens_router = Router(tags=["tokens"])


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


# --- personal tokens -------------------------------------------------------------------------


class PersonalTokenIn(Schema):
    name: str
    scope: str
    project: str = ""
    days: int | None = None


class TokenInfoOut(Schema):
    id: int
    name: str
    kind: str
    prefix: str
    scope: str
    project: str
    state: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class IssuedTokenOut(TokenInfoOut):
    token: str


def info_out(info: tokens.TokenInfo) -> TokenInfoOut:
    return TokenInfoOut(**info.__dict__, state=info.state)


@tokens_router.get("", response=list[TokenInfoOut])
@requires(Stage.VERIFIED, Action.LIST, "own tokens")
def list_tokens(request: HttpRequest) -> list[TokenInfoOut]:
    """The caller's personal tokens (live, expired, revoked) and live login tokens, newest
    first. Needs a session or a full or read-only token."""
    found = tokens.list_tokens(request.user, credential=credential_of(request))
    return [info_out(info) for info in found]


@tokens_router.post("", response={201: IssuedTokenOut})
@requires(Stage.VERIFIED, Action.WRITE, "own tokens")
def create_personal_token(request: HttpRequest, payload: PersonalTokenIn) -> Status[IssuedTokenOut]:
    """Create a personal token from a signed-in browser session (CSRF-checked) whose second
    factor is recent (else 403: re-authenticate at ``/account/reauthenticate/``); a bearer
    token cannot create tokens. ``scope``: ``read_only``, ``project`` (with ``project``),
    ``aggregate`` or ``full``; ``days`` defaults to the ``token_default_days`` setting. The
    secret in ``token`` is shown this once."""
    issued = tokens.create_token(
        request.user,
        name=payload.name,
        scope=payload.scope,
        days=payload.days,
        project=payload.project,
        credential=credential_of(request),
        fresh=is_fresh(request),
    )
    info = issued.info
    return Status(201, IssuedTokenOut(**info.__dict__, state=info.state, token=issued.token))


@tokens_router.get("/current", response=TokenInfoOut)
@requires(Stage.VERIFIED, Action.READ, "own token")
def current_token(request: HttpRequest) -> TokenInfoOut:
    """The token this request was made with: its name, scope, project and expiry (any scope;
    404 for a browser session)."""
    return info_out(tokens.current_token(credential_of(request)))


@tokens_router.delete("/{token_id}", response=TokenInfoOut)
@requires(Stage.VERIFIED, Action.WRITE, "own token")
def revoke_personal_token(request: HttpRequest, token_id: int) -> TokenInfoOut:
    """Revoke one of the caller's tokens (another user's answers 404). A token may revoke
    itself; revoking others needs a session or a full-scope token."""
    info = tokens.revoke(request.user, token_id, credential=credential_of(request))
    return info_out(info)
