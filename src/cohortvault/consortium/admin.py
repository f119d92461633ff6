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

from cohortvault.access.policy import Role
from cohortvault.consortium import services
from cohortvault.consortium.models import Group, Membership, Project, Site, Study, Timepoint
from cohortvault.errors import CohortvaultError
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
class MembershipAdmin(AuditedAdmin):
    list_display = ["user", "group", "valid_from", "valid_until", "ended_at", "granted_by"]
    list_filter = ["group__role", "group__site", "group__project"]
    search_fields = ["user__username"]
    actions = ["end_memberships"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["ended_at", "granted_by"]
        return ["user", "group", "valid_from", "ended_at", "granted_by"]

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        group = obj.group
        membership = services.grant_membership(
            principal_of(request),
            username=obj.user.username,
            role=Role(group.role),
            site=group.site,
            project=group.project,
            valid_until=obj.valid_until,
            reason=obj.reason,
        )
        obj.pk = membership.pk
        obj.valid_from = membership.valid_from

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        services.end_membership(principal_of(request), obj, reason="ended in administration")

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        for membership in queryset:
            self.delete_model(request, membership)

    @admin.action(description="End the selected memberships now")
    def end_memberships(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        ended = 0
        for membership in queryset.filter(ended_at__isnull=True):
            try:
                services.end_membership(
                    principal_of(request), membership, reason="ended in administration"
                )
            except CohortvaultError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                ended += 1
        self.message_user(request, f"{ended} membership(s) ended.", messages.SUCCESS)


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
