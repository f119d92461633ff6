"""What the governance pages share: the principal, the way to a fresh second factor, and
showing a service's refusal of bad input on the form that sent it."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponseRedirect

from cohortvault.access.policy import Principal
from cohortvault.errors import CohortvaultError, Conflict, Invalid, NotFound
from cohortvault.identity.reauthentication import reauthentication_url


def principal_of(request: HttpRequest) -> Principal:
    return request.principal  # type: ignore[attr-defined,no-any-return]


def reauthenticate(request: HttpRequest) -> HttpResponseRedirect:
    """Deciding needs a second factor given moments ago: ask for one, then come back to the
    page the decision was sent from."""
    messages.info(request, "Confirm it is you: give your second factor again, then decide.")
    return HttpResponseRedirect(reauthentication_url(request))


#: Service errors about the input itself, shown on the form; refusals become error pages.
INPUT_ERRORS = (Invalid, NotFound, Conflict)


def error_lines(exc: CohortvaultError) -> list[str]:
    return [exc.message, *(str(detail) for detail in exc.details)]
