"""The consortium: partner sites, their studies and waves, projects, and role groups."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone

from cohortvault.access.policy import GLOBAL_ROLES, Role

code_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9-]{0,38}[a-z0-9]$|^[a-z0-9]$",
    "Use lower-case letters, digits and hyphens (it becomes part of folder paths).",
)


class Site(models.Model):
    """A partner site; its code names its areas (``sites/<code>/data``, ``sites/<code>/import``)."""

    code = models.CharField(max_length=40, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, help_text="ISO 3166 country code")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Study(models.Model):
    """A cohort study run at a site."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="studies")
    code = models.CharField(max_length=40, validators=[code_validator])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["site__code", "code"]
        verbose_name_plural = "studies"
        constraints = [models.UniqueConstraint(fields=["site", "code"], name="study_code_per_site")]

    def __str__(self) -> str:
        return f"{self.site.code}/{self.code}"


class Timepoint(models.Model):
    """A wave or visit of a study, ordered."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="timepoints")
    code = models.CharField(max_length=40, validators=[code_validator])
    label = models.CharField(max_length=200)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["study__site__code", "study__code", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["study", "code"], name="timepoint_code_per_study")
        ]

    def __str__(self) -> str:
        return f"{self.study}/{self.code}"


class Project(models.Model):
    """An approved research project; its code names its area (``projects/<code>``)."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        CLOSED = "closed"

    code = models.CharField(max_length=40, unique=True, validators=[code_validator])
    title = models.CharField(max_length=300)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Group(models.Model):
    """A role, consortium-wide or tied to one site or project. Memberships make principals."""

    role = models.CharField(max_length=32, choices=[(r.value, r.value) for r in Role])
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.PROTECT)
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        ordering = ["role", "site__code", "project__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["role"],
                condition=Q(site__isnull=True, project__isnull=True),
                name="one_global_group_per_role",
            ),
            models.UniqueConstraint(
                fields=["role", "site"], condition=Q(site__isnull=False), name="one_group_per_site"
            ),
            models.UniqueConstraint(
                fields=["role", "project"],
                condition=Q(project__isnull=False),
                name="one_group_per_project",
            ),
            models.CheckConstraint(
                name="group_scope_matches_role",
                condition=(
                    Q(role=Role.SITE_MEMBER.value, site__isnull=False, project__isnull=True)
                    | Q(role=Role.PROJECT_MEMBER.value, project__isnull=False, site__isnull=True)
                    | Q(
                        role__in=sorted(r.value for r in GLOBAL_ROLES),
                        site__isnull=True,
                        project__isnull=True,
                    )
                ),
            ),
        ]

    def __str__(self) -> str:
        if self.site_id:
            return f"{self.role}:{self.site.code}"  # type: ignore[union-attr]
        if self.project_id:
            return f"{self.role}:{self.project.code}"  # type: ignore[union-attr]
        return self.role


class MembershipQuerySet(models.QuerySet["Membership"]):
    def active(self, at: object = None) -> QuerySet[Membership]:
        """Memberships in force at ``at`` (now by default): started, not ended, not lapsed."""
        moment = at or timezone.now()
        return self.filter(
            Q(ended_at__isnull=True) | Q(ended_at__gt=moment),
            valid_from__lte=moment,
        ).filter(Q(valid_until__isnull=True) | Q(valid_until__gt=moment))


class Membership(models.Model):
    """A user's membership of a group over a period. Ended memberships are kept as history."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships"
    )
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="memberships")
    valid_from = models.DateTimeField(default=timezone.now)
    valid_until = models.DateTimeField(null=True, blank=True, help_text="Lapses by itself then.")
    ended_at = models.DateTimeField(null=True, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.TextField(blank=True)
    is_contact = models.BooleanField(
        default=False, help_text="The site's contact person: may request accounts for it."
    )

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["-valid_from"]

    def __str__(self) -> str:
        return f"{self.user} in {self.group}"
