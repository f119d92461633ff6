"""What the project pages' forms send. The services check everything again (and audit what
they refuse); the forms only turn posted text into the services' inputs."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.http import QueryDict

from cohortvault.projects import services
from cohortvault.projects.models import Agreement, Proposal

#: A form post carries the PDF plus a little form data around it.
UPLOAD_LIMIT = services.MAX_DOCUMENT_BYTES + 64 * 1024
TOO_LARGE = f"A signed agreement is at most {services.MAX_DOCUMENT_BYTES // 2**20} MiB."
LISTS = ("variables", "sites", "studies", "timepoints")


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[\s,;]+", text) if w]


class ProposalForm(forms.Form):
    title = forms.CharField(max_length=300)
    code = forms.CharField(
        max_length=40,
        help_text="Lower-case letters, digits and hyphens: the project's folder projects/<code>.",
    )
    principal_investigator = forms.CharField(
        max_length=150, label="Principal investigator", help_text="A username."
    )
    members = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Usernames of the proposed members, separated by spaces or commas.",
    )
    aims = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 6}))
    variables = forms.MultipleChoiceField(required=False)
    sites = forms.MultipleChoiceField(required=False)
    studies = forms.MultipleChoiceField(required=False)
    timepoints = forms.MultipleChoiceField(required=False)
    modalities = forms.CharField(
        required=False,
        label="Imaging modalities",
        help_text="For later, e.g. T1w, FLAIR, DWI; separated by spaces or commas.",
    )

    def __init__(self, data: Any = None, *, choices: services.Choices, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.choices = choices
        offered = {
            "variables": [(v.name, v.name) for vs in choices.domains.values() for v in vs],
            "sites": [(s.code, s.name) for s in choices.sites],
            "studies": choices.studies,
            "timepoints": choices.timepoints,
        }
        for name, values in offered.items():
            field = self.fields[name]
            assert isinstance(field, forms.MultipleChoiceField)
            field.choices = values

    @classmethod
    def of(cls, proposal: Proposal, *, choices: services.Choices) -> ProposalForm:
        members = " ".join(sorted(m.get_username() for m in proposal.members.all()))
        initial = {
            "title": proposal.title,
            "code": proposal.code,
            "principal_investigator": proposal.principal_investigator.get_username(),
            "members": members,
            "aims": proposal.aims,
            "modalities": " ".join(proposal.modalities),
            **{name: list(getattr(proposal, name)) for name in LISTS},
        }
        return cls(initial=initial, choices=choices)

    def selected(self) -> dict[str, set[str]]:
        """What the checkboxes show ticked: the posted values, or the initial ones."""
        if isinstance(self.data, QueryDict):
            return {name: set(self.data.getlist(name)) for name in LISTS}
        return {name: set(self.initial.get(name, [])) for name in LISTS}

    def data_for_service(self) -> services.ProposalInput:
        data = self.cleaned_data
        return services.ProposalInput(
            title=data["title"],
            code=data["code"],
            principal_investigator=data["principal_investigator"],
            aims=data["aims"],
            members=_words(data["members"]),
            modalities=_words(data["modalities"]),
            **{name: list(data[name]) for name in LISTS},
        )


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(choices=Proposal.Outcome.choices, widget=forms.RadioSelect)
    meeting_date = forms.DateField(
        label="Date of the general assembly", widget=forms.DateInput(attrs={"type": "date"})
    )
    reference = forms.CharField(max_length=200, label="Reference (minutes number)")
    conditions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required for an approval with conditions.",
    )
    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required for a rejection; the author reads it.",
    )


class NoteForm(forms.Form):
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class AgreementForm(forms.Form):
    status = forms.ChoiceField(choices=Agreement.Status.choices)
    signed_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    expires_on = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Valid through this day; leave empty for an open-ended agreement.",
    )
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    document = forms.FileField(
        required=False,
        label="Signed agreement (PDF)",
        help_text=f"At most {services.MAX_DOCUMENT_BYTES // 2**20} MiB; stored encrypted.",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
    )

    def data_for_service(self) -> services.AgreementInput:
        data = self.cleaned_data
        return services.AgreementInput(
            status=data["status"],
            signed_on=data["signed_on"],
            expires_on=data["expires_on"],
            note=data["note"],
        )


class CloseForm(forms.Form):
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


def problems(form: forms.Form) -> list[str]:
    return [
        f"{form.fields[name].label or name}: {' '.join(str(e) for e in errors)}"
        if name in form.fields
        else " ".join(str(e) for e in errors)
        for name, errors in form.errors.items()
    ]
