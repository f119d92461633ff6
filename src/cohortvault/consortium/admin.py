"""Administration pages (Django's admin) for the consortium and its users.

Every save and delete goes through ``consortium.services`` so it is authorised and audited
like any other change.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from cohortvault.consortium import services
from cohortvault.consortium.models import Group, Membership, Project, Site, Study, Timepoint
from cohortvault.identity.models import User
from cohortvault.identity.services import set_user_active
from cohortvault.web.admin_site import PolicyModelAdmin, admin_site, principal_of


class AuditedAdmin(PolicyModelAdmin):
    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        services.save_record(principal_of(request), obj, changed=list(form.changed_data))

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.delete_record(principal_of(request), obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            services.delete_record(principal_of(request), obj)


class TimepointInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Timepoint
    extra = 1

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin_site.has_permission(request)

    has_change_permission = has_add_permission
    has_delete_permission = has_add_permission
    has_view_permission = has_add_permission


@admin.register(Site, site=admin_site)
class SiteAdmin(AuditedAdmin):
    list_display = ["code", "name", "country"]
    search_fields = ["code", "name"]


@admin.register(Study, site=admin_site)
class StudyAdmin(AuditedAdmin):
    list_display = ["code", "name", "site"]
    list_filter = ["site"]
    inlines = [TimepointInline]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        principal = principal_of(request)
        for obj in formset.save(commit=False):
            services.save_record(principal, obj)
        for obj in formset.deleted_objects:
            services.delete_record(principal, obj)


@admin.register(Timepoint, site=admin_site)
class TimepointAdmin(AuditedAdmin):
    list_display = ["code", "label", "study", "order"]
    list_filter = ["study__site"]


@admin.register(Project, site=admin_site)
class ProjectAdmin(AuditedAdmin):
    list_display = ["code", "title", "status", "created_at"]
    list_filter = ["status"]


@admin.register(Group, site=admin_site)
class GroupAdmin(AuditedAdmin):
    list_display = ["__str__", "role", "site", "project"]
    list_filter = ["role"]


@admin.register(Membership, site=admin_site)
class MembershipAdmin(PolicyModelAdmin):
    """Memberships, read only: they change only through access requests (four eyes, audited)
    on the governance pages. The list and each membership's history stay readable here."""

    list_display = [
        "user",
        "group",
        "valid_from",
        "valid_until",
        "ended_at",
        "granted_by",
        "governance_history",
    ]
    list_filter = ["group__role", "group__site", "group__project"]
    search_fields = ["user__username"]
    actions = None

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="History")
    def governance_history(self, obj: Membership) -> str:
        url = (
            reverse("governance:membership-history")
            + "?"
            + urlencode({"user": obj.user.get_username()})
        )
        return format_html('<a href="{}">all memberships of {}</a>', url, obj.user)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        self.message_user(
            request,
            format_html(
                'Memberships change only through <a href="{}">access requests</a>; '
                'see also the <a href="{}">membership history</a> and the '
                '<a href="{}">decision queue</a>.',
                reverse("governance:access-new"),
                reverse("governance:membership-history"),
                reverse("governance:queue"),
            ),
            messages.INFO,
        )
        return super().changelist_view(request, extra_context)


@admin.register(User, site=admin_site)
class ConsortiumUserAdmin(UserAdmin, AuditedAdmin):  # type: ignore[type-arg]
    list_display = ["username", "first_name", "last_name", "email", "is_active", "last_login"]
    list_filter = ["is_active"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Person", {"fields": ("first_name", "last_name", "email")}),
        ("Status", {"fields": ("is_active", "last_login", "date_joined")}),
    )
    readonly_fields = ["last_login", "date_joined"]
    filter_horizontal = []

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        changed = list(form.changed_data)
        if change and "is_active" in changed:
            # Disabling is its own audited act; it ends the user's sessions and tokens.
            set_user_active(principal_of(request), obj.username, active=obj.is_active)
            changed.remove("is_active")
            if not changed:
                return
        services.save_record(principal_of(request), obj, changed=changed)

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> Any:
        # The new password and its audit entry land together or not at all.
        with transaction.atomic():
            return super().user_change_password(request, id, form_url)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        if "'password'" in str(message):
            services.record_password_reset(principal_of(request), obj)
        return super().log_change(request, obj, message)
