"""Personal API token pages: the token list with its create form, the page showing a new
secret once, and revocation. The security page shows the same panel (``_tokens.html``)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from cohortvault.access.policy import Action
from cohortvault.access.requirements import Stage, requires
from cohortvault.errors import Invalid
from cohortvault.identity import tokens
from cohortvault.identity.reauthentication import fresh_required
from cohortvault.web.freshness import is_fresh


class TokenForm(forms.Form):
    name = forms.CharField(max_length=tokens.NAME_MAX_LENGTH)
    days = forms.IntegerField(label="Lifetime in days")  # bounds: the service's, from settings
    scope = forms.ChoiceField(choices=[(s.value, text) for s, text in tokens.SCOPE_LABELS.items()])
    project = forms.CharField(max_length=40, required=False)


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("identity:tokens")


def _page(request: HttpRequest, form: TokenForm | None = None, error: str = "") -> HttpResponse:
    context = {
        "tokens": tokens.security_overview(request.user),
        "token_form": form,
        "token_error": error,
    }
    return render(request, "identity/tokens.html", context)


@requires(Stage.VERIFIED, Action.LIST, "own tokens")
@require_GET
def token_list(request: HttpRequest) -> HttpResponse:
    return _page(request)


@requires(Stage.VERIFIED, Action.WRITE, "own tokens")
@fresh_required
@require_POST
def create(request: HttpRequest) -> HttpResponse:
    """Make a token from this verified session and show its secret, once. A second factor
    older than ``reauthentication_seconds`` is asked for again first."""
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _page(request, form)
    data = form.cleaned_data
    try:
        issued = tokens.create_token(
            request.user,
            name=data["name"],
            scope=data["scope"],
            days=data["days"],
            project=data["project"] if data["scope"] == "project" else "",
            fresh=is_fresh(request),
        )
    except Invalid as exc:
        return _page(request, form, exc.message)
    return render(
        request,
        "identity/token_created.html",
        {
            "token": issued.token,
            "info": issued.info,
            "api_root": request.build_absolute_uri("/api/v1"),
        },
    )


@requires(Stage.VERIFIED, Action.WRITE, "own token")
@require_POST
def revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    info = tokens.revoke(request.user, token_id)
    messages.success(request, f"Token “{info.name}” ({info.prefix}…) is revoked.")
    return redirect(_back(request))
