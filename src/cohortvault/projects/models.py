"""Proposals, every change of their state, and the transfer agreements of approved projects.
Nothing here is deleted: it is the record of what was asked, decided and agreed."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from cohortvault.consortium.models import Project, Site, code_validator
from cohortvault.storage.models import Blob

#: ``Blob.purpose`` of a signed agreement: no purger releases these.
AGREEMENT_PURPOSE = "agreement"


class Proposal(models.Model):
    """A proposed project: what it wants (variables, sites, studies, timepoints), who works on
    it, and the general assembly's decision on it."""

    class State(models.TextChoices):
        DRAFT = "draft"
        SUBMITTED = "submitted", "awaiting the general assembly"
        APPROVED = "approved"
        REJECTED = "rejected"
        WITHDRAWN = "withdrawn"
        CLOSED = "closed", "closed (project ended)"

    class Outcome(models.TextChoices):
        APPROVED = "approved"
        APPROVED_WITH_CONDITIONS = "approved_with_conditions", "approved with conditions"
        REJECTED = "rejected"

    title = models.CharField(max_length=300)
    code = models.CharField(
        max_length=40,
        validators=[code_validator],
        help_text="The future project's code: its area is projects/<code>.",
    )
    aims = models.TextField(blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    principal_investigator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    variables = models.JSONField(default=list, blank=True, help_text="Dictionary variable names.")
    sites = models.JSONField(default=list, blank=True, help_text="Site codes.")
    studies = models.JSONField(default=list, blank=True, help_text="Study codes.")
    timepoints = models.JSONField(default=list, blank=True, help_text="Timepoint codes.")
    modalities = models.JSONField(default=list, blank=True, help_text="Imaging modalities.")
    dictionary_version = models.PositiveIntegerField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.DRAFT)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=32, choices=Outcome.choices, blank=True)
    conditions = models.TextField(blank=True)
    decision_reason = models.TextField(blank=True)
    meeting_date = models.DateField(null=True, blank=True)
    reference = models.CharField(max_length=200, blank=True, help_text="e.g. the minutes number")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    data_manager_notified_at = models.DateTimeField(null=True, blank=True)
    project = models.OneToOneField(
        Project, null=True, blank=True, on_delete=models.PROTECT, related_name="proposal"
    )

    class Meta:
        ordering = ["-updated_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"],
                condition=Q(state__in=["submitted", "approved", "closed"]),
                name="one_live_proposal_per_code",
            )
        ]

    def __str__(self) -> str:
        return f"proposal {self.pk} ({self.code})"

    @property
    def is_approved(self) -> bool:
        return self.state in (self.State.APPROVED, self.State.CLOSED)


class ProposalEvent(models.Model):
    """One change of a proposal: who moved it from which state to which, when and why."""

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=32)
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty when the platform acted (an agreement expired).",
    )
    at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.action} of {self.proposal}: {self.from_state} → {self.to_state}"

    @property
    def actor_name(self) -> str:
        return self.actor.get_username() if self.actor is not None else "system"


class Agreement(models.Model):
    """The material/data transfer agreement of one contributing site of an approved project."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SIGNED = "signed"
        EXPIRED = "expired"
        TERMINATED = "terminated"

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="agreements")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    signed_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(
        null=True, blank=True, help_text="Valid through this day; none: open-ended."
    )
    note = models.TextField(blank=True)
    updated_by = models.CharField(max_length=150, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["site__code"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "site"], name="one_agreement_per_site")
        ]

    def __str__(self) -> str:
        return f"agreement of {self.site.code} for {self.proposal.code}"


class AgreementDocument(models.Model):
    """A signed agreement as uploaded: a PDF, encrypted in the blob store (never a file in an
    area). Every upload is kept; the latest is the agreement's document."""

    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="documents")
    blob = models.OneToOneField(Blob, on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    uploaded_by = models.CharField(max_length=150)
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-uploaded_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.agreement})"
