"""Django's admin, behind the same second factor and the same policy as every other page.

Only principals the policy lets ``administer`` the consortium get in; everyone else is refused
(and the refusal audited). Model admins save through the domain services, which audit.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from cohortvault.access.guard import authorize
from cohortvault.access.policy import Action, Facility, Principal, decide


def principal_of(request: HttpRequest) -> Principal:
    return getattr(request, "principal", None) or Principal.anonymous()


class ConsortiumAdminSite(admin.AdminSite):
    site_header = "cohortvault administration"
    site_title = "cohortvault administration"
    index_title = "Sites, studies, projects, users and memberships"
    enable_nav_sidebar = False

    def has_permission(self, request: HttpRequest) -> bool:
        return decide(principal_of(request), Action.ADMINISTER, Facility.CONSORTIUM).allowed

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if request.user.is_authenticated:
            authorize(
                principal_of(request),
                Action.ADMINISTER,
                Facility.CONSORTIUM,
                target="administration pages",
            )
        return HttpResponseRedirect(
            f"{reverse('identity:login')}?next={request.GET.get('next', '/admin/')}"
        )

    def logout(self, request: HttpRequest, extra_context: Any = None) -> Any:
        """Hand the admin's sign-out form (a POST with its CSRF token) to the real sign-out."""
        response = HttpResponseRedirect(reverse("identity:logout"))
        response.status_code = 307  # keep the method and body: the real sign-out wants a POST
        return response


class PolicyModelAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Model permissions follow the site-wide policy decision, not Django's per-model perms."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.admin_site.has_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.admin_site.has_permission(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self.admin_site.has_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.admin_site.has_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.admin_site.has_permission(request)


admin_site = ConsortiumAdminSite(name="admin")
