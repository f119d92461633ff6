"""The dashboard: my roles, my sites and projects, and the areas I can reach."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from cohortvault.access.policy import Action
from cohortvault.access.requirements import requires
from cohortvault.consortium import services


@requires(action=Action.READ, resource="own overview")
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    overview = services.overview(request.principal, request.user)  # type: ignore[attr-defined]
    return render(request, "consortium/dashboard.html", {"overview": overview})
