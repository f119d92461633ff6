"""Sending a session whose second factor is not fresh to the re-authentication page.

Sensitive actions (adding or removing a factor, deciding access requests, approving exports)
need a second factor given within ``reauthentication_seconds``. Views guard them with
``@fresh_required``; a view that decides for itself links or redirects to
``reauthentication_url(request)``. The page (``identity:reauthenticate``) takes a one-time code,
a recovery code or a security key, stamps the session (``web.freshness.mark_verified``) and
returns to ``next``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from cohortvault.web.freshness import is_fresh
from cohortvault.web.middleware import is_verified

__all__ = ["fresh_required", "needs_reauthentication", "reauthentication_url"]

F = TypeVar("F", bound=Callable[..., HttpResponse])

PROMPT = "Confirm it is you: give your second factor again to continue."


def needs_reauthentication(request: HttpRequest) -> bool:
    """A verified session whose last second factor is older than the setting allows."""
    return is_verified(request.user) and not is_fresh(request)


def reauthentication_url(request: HttpRequest, next_url: str | None = None) -> str:
    """The re-authentication page, returning to ``next_url`` afterwards: by default this page
    (for GET) or the page the form was sent from (for POST, whose URL cannot be revisited)."""
    if next_url is None:
        next_url = _return_path(request)
    return f"{reverse('identity:reauthenticate')}?{urlencode({'next': next_url})}"


def fresh_required(view: F) -> F:
    """Let a view run only with a fresh second factor; otherwise send the user to confirm one.

    Sessions not yet verified pass through: the gate already holds them at sign-in or first
    enrolment, where the second factor is being given right now.
    """

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if needs_reauthentication(request):
            messages.info(request, PROMPT)
            return HttpResponseRedirect(reauthentication_url(request))
        return view(request, *args, **kwargs)

    return cast(F, guarded)


def _return_path(request: HttpRequest) -> str:
    if request.method in ("GET", "HEAD"):
        return request.get_full_path()
    referer = str(request.META.get("HTTP_REFERER", ""))
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        parts = urlsplit(referer)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return reverse("consortium:dashboard")
