"""Personal API tokens: the doors for creating, listing and revoking them.

A personal token is named, expires (``token_default_days``, at most ``token_max_days``) and
carries a scope that narrows its user's power (``access.policy.Scope``): everything, read-only,
one project's area, or aggregate answers only. The secret is returned once; only its SHA-256 is
stored. Tokens are minted only from a browser session that passed its second factor recently
(``reauthentication_seconds``): a caller that authenticated with a token (``credential``) is
refused, so a leaked token cannot breed, and so is a stale session, so a session left open
cannot be turned into a credential that outlives it.

Login tokens (``POST /api/v1/auth/token``) are made in ``identity.services``; they carry full
scope and are listed here beside the personal ones while they live.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cohortvault.access.policy import AreaKind, Principal, Scope
from cohortvault.access.principals import principal_for
from cohortvault.audit.trail import Outcome, record
from cohortvault.consortium.services import reachable_areas
from cohortvault.errors import Invalid, NotFound, PermissionDenied
from cohortvault.identity.models import ApiToken, digest
from cohortvault.identity.services import TOKEN_PREFIX

__all__ = [
    "SCOPE_LABELS",
    "IssuedPersonalToken",
    "ProjectChoice",
    "TokenInfo",
    "TokenPanel",
    "create_token",
    "current_token",
    "list_tokens",
    "project_choices",
    "revoke",
    "scope_of",
    "security_overview",
]

NAME_MAX_LENGTH = 100

#: What each scope is called on pages and in the docs, in the order the form offers them.
SCOPE_LABELS: dict[Scope, str] = {
    Scope.READ_ONLY: "Read-only: list and read what you can read",
    Scope.PROJECT: "One project: read and write that project's area only",
    Scope.AGGREGATE: "Aggregate only: counts that passed disclosure control",
    Scope.FULL: "Full: everything you can do, reading and writing",
}


@dataclass(frozen=True)
class TokenInfo:
    """One token as lists show it; never its secret or hash."""

    id: int
    name: str
    kind: str
    prefix: str
    scope: str
    project: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def state(self) -> str:
        """``live``, ``expired`` or ``revoked``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "live"

    @property
    def is_live(self) -> bool:
        return self.state == "live"

    @property
    def scope_label(self) -> str:
        if self.scope == Scope.PROJECT:
            return f"project {self.project}"
        return self.scope.replace("_", "-")


@dataclass(frozen=True)
class IssuedPersonalToken:
    """A new token: ``token`` is the secret, shown to its owner this once."""

    token: str
    info: TokenInfo


@dataclass(frozen=True)
class ProjectChoice:
    code: str
    title: str


@dataclass(frozen=True)
class TokenPanel:
    """What the security page's token panel (``identity/_tokens.html``) shows."""

    tokens: list[TokenInfo]
    scopes: list[tuple[str, str]]
    projects: list[ProjectChoice]
    default_days: int
    max_days: int


def _info(token: ApiToken) -> TokenInfo:
    return TokenInfo(
        id=token.pk,
        name=token.name,
        kind=token.kind,
        prefix=token.prefix,
        scope=token.scope,
        project=token.scope_project,
        created_at=token.created_at,
        expires_at=token.expires_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
    )


def scope_of(token: ApiToken) -> Scope | None:
    """The token's scope, or None for a value no release ever wrote (such a token reaches
    nothing)."""
    try:
        return Scope(token.scope)
    except ValueError:
        return None


def project_choices(principal: Principal) -> list[ProjectChoice]:
    """Projects a project-scoped token may be made for: those whose area the user can reach
    right now (their active projects; every active project for the data manager)."""
    return [
        ProjectChoice(code=access.area.key, title=access.title)
        for access in reachable_areas(principal)
        if access.area.kind is AreaKind.PROJECT
    ]


def _refuse(user: Any, action: str, reason: str, *, target: str = "") -> None:
    with transaction.atomic():
        record(
            action,
            actor=principal_for(user),
            outcome=Outcome.DENIED,
            target=target,
            reason=reason,
        )


def _lifetime(days: int | None) -> timedelta:
    maximum = settings.COHORTVAULT_TOKEN_MAX_DAYS
    if days is None:
        days = min(settings.COHORTVAULT_TOKEN_DEFAULT_DAYS, maximum)
    if days < 1:
        raise Invalid("A token must live at least one day.")
    if days > maximum:
        raise Invalid(f"A token may live at most {maximum} days.")
    return timedelta(days=days)


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise Invalid("Give the token a name, such as the script that will use it.")
    if len(name) > NAME_MAX_LENGTH:
        raise Invalid(f"A token name has at most {NAME_MAX_LENGTH} characters.")
    return name


def create_token(
    user: Any,
    *,
    name: str,
    scope: Scope | str,
    days: int | None = None,
    project: str = "",
    credential: ApiToken | None = None,
    fresh: bool = True,
) -> IssuedPersonalToken:
    """Make a personal token for ``user`` and return its secret (the only time it is seen).

    ``credential`` is the token the request authenticated with, None for a verified browser
    session: tokens are refused when minted with a token. ``fresh`` says whether the session's
    second factor is recent (``web.freshness.is_fresh``); a stale one is refused. ``days``
    defaults to the ``token_default_days`` setting and may not exceed ``token_max_days``. A
    project scope needs a project whose area the user can reach now.
    """
    if credential is not None:
        _refuse(user, "token.issue", "a token cannot create tokens; use a signed-in browser")
        raise PermissionDenied(
            "Tokens are created from a signed-in browser session, not with a token."
        )
    if not fresh:
        _refuse(user, "token.issue", "the session's second factor is not recent")
        raise PermissionDenied(
            "Confirm it is you (give your second factor again) before creating a token."
        )
    name = _clean_name(name)
    try:
        scope = Scope(scope)
    except ValueError:
        choices = ", ".join(s.value for s in Scope)
        raise Invalid(f"Unknown scope {scope!r}; choose one of {choices}.") from None
    lifetime = _lifetime(days)
    principal = principal_for(user)
    project = project.strip()
    if scope is Scope.PROJECT:
        if not project:
            raise Invalid("Choose the project this token is for.")
        if project not in {choice.code for choice in project_choices(principal)}:
            _refuse(
                user,
                "token.issue",
                f"not a member of project {project}",
                target=f"project {project}"[:200],
            )
            raise Invalid(f"You can make a token only for a project you work in: {project!r}.")
    elif project:
        raise Invalid("Only a project-scoped token names a project.")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            kind=ApiToken.Kind.PERSONAL,
            scope=scope.value,
            scope_project=project,
            prefix=raw[:10],
            token_hash=digest(raw),
            expires_at=timezone.now() + lifetime,
        )
        record(
            "token.issue",
            actor=principal,
            target=f"token {token.prefix}…",
            details={
                "kind": token.kind,
                "name": name,
                "scope": scope.value,
                "project": project,
                "expires_at": token.expires_at.isoformat(),
            },
        )
    return IssuedPersonalToken(token=raw, info=_info(token))


def _narrowed(user: Any, credential: ApiToken | None, allowed: set[Scope], action: str) -> None:
    """Refuse a scoped token the management of its user's tokens (it may still see and revoke
    itself)."""
    if credential is None or scope_of(credential) in allowed:
        return
    _refuse(
        user,
        action,
        f"a {credential.scope} token cannot manage its user's tokens",
        target=f"token {credential.prefix}…",
    )
    raise PermissionDenied("This token's scope does not reach the token list.")


def list_tokens(user: Any, *, credential: ApiToken | None = None) -> list[TokenInfo]:
    """The user's personal tokens (live, expired and revoked, newest first) and their live
    login tokens. A project or aggregate token is refused: its scope does not reach this."""
    _narrowed(user, credential, {Scope.FULL, Scope.READ_ONLY}, "token.list")
    now = timezone.now()
    live_login = Q(kind=ApiToken.Kind.LOGIN, revoked_at__isnull=True, expires_at__gt=now)
    rows = ApiToken.objects.filter(user=user).filter(Q(kind=ApiToken.Kind.PERSONAL) | live_login)
    return [_info(token) for token in rows.order_by("-created_at", "-pk")]


def current_token(credential: ApiToken | None) -> TokenInfo:
    """The token a request authenticated with (for ``GET /api/v1/tokens/current``)."""
    if credential is None:
        raise NotFound("This request was not made with a token.")
    return _info(credential)


def revoke(user: Any, token_id: int, *, credential: ApiToken | None = None) -> TokenInfo:
    """Revoke one of the user's tokens; it fails at its next use. Another user's token, or
    none, answers "not found". Revoking a revoked token changes nothing. A token may always
    revoke itself; revoking others needs a full-scope credential (or a session)."""
    if credential is not None and credential.pk != token_id:
        _narrowed(user, credential, {Scope.FULL}, "token.revoke")
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(pk=token_id, user=user).first()
        if token is None:
            record(
                "token.revoke",
                actor=principal_for(user),
                outcome=Outcome.DENIED,
                target=f"token id {token_id}",
                reason="no such token of this user",
            )
        elif token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            record(
                "token.revoke",
                actor=principal_for(user),
                target=f"token {token.prefix}…",
                details={"kind": token.kind, "name": token.name, "scope": token.scope},
            )
    if token is None:
        raise NotFound("No such token.")
    return _info(token)


def security_overview(user: Any) -> TokenPanel:
    """Everything ``identity/_tokens.html`` needs: the user's tokens and the form's choices."""
    return TokenPanel(
        tokens=list_tokens(user),
        scopes=[(scope.value, label) for scope, label in SCOPE_LABELS.items()],
        projects=project_choices(principal_for(user)),
        default_days=min(
            settings.COHORTVAULT_TOKEN_DEFAULT_DAYS, settings.COHORTVAULT_TOKEN_MAX_DAYS
        ),
        max_days=settings.COHORTVAULT_TOKEN_MAX_DAYS,
    )
