"""What the governance pages' forms send, checked before any service is called.

The services check again (and decide); these forms only turn text into typed values and say
clearly what is wrong with it. Groups travel as keys: ``exporter``, ``site_member:oslo``,
``project_member:alpha``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils import timezone

from cohortvault.access.policy import Role
from cohortvault.governance.models import AccessRequest
from cohortvault.governance.services import GroupRef

REASON_LIMIT = 2000
NAME_LIMIT = 150
REFERENCE_LIMIT = 200

#: Names are one line of text: no line breaks or other control characters.
plain_name = RegexValidator(
    r"^[^\x00-\x1f\x7f]+$", "Write the name on one line, without control characters."
)


def group_key(ref: GroupRef) -> str:
    if ref.site:
        return f"{ref.role.value}:{ref.site}"
    if ref.project:
        return f"{ref.role.value}:{ref.project}"
    return ref.role.value


def parse_group_key(key: str) -> GroupRef:
    role_name, _, scope = key.partition(":")
    role = Role(role_name)
    if role is Role.SITE_MEMBER:
        return GroupRef(role, site=scope)
    if role is Role.PROJECT_MEMBER:
        return GroupRef(role, project=scope)
    return GroupRef(role)


def group_choice_list(choices: list[tuple[GroupRef, str]]) -> list[tuple[str, str]]:
    return [(group_key(ref), label) for ref, label in choices]


def _reason_field(label: str = "Reason", *, required: bool = True) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=REASON_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": REASON_LIMIT}),
        error_messages={
            "max_length": f"Keep the reason under {REASON_LIMIT} characters "
            "(it was %(show_value)d)."
        },
    )


class RegistrationForm(forms.Form):
    # Offers the sites the user is contact person for; any other site is the service's to
    # refuse (and audit), not the form's.
    site = forms.CharField(label="Site", max_length=40, widget=forms.Select)
    first_name = forms.CharField(max_length=NAME_LIMIT, validators=[plain_name])
    last_name = forms.CharField(max_length=NAME_LIMIT, validators=[plain_name])
    email = forms.EmailField(label="E-mail", max_length=254)
    groups = forms.MultipleChoiceField(
        label="Further groups (optional)",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Each becomes an access request the administrator decides after the account "
        "exists.",
    )
    reason = _reason_field()

    def __init__(
        self,
        *args: Any,
        sites: list[tuple[str, str]],
        groups: list[tuple[GroupRef, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        site_widget: Any = self.fields["site"].widget
        site_widget.choices = sites
        groups_field: Any = self.fields["groups"]
        groups_field.choices = group_choice_list(
            [(ref, label) for ref, label in groups if ref.role is not Role.SITE_MEMBER]
        )

    def group_refs(self) -> list[GroupRef]:
        return [parse_group_key(key) for key in self.cleaned_data["groups"]]


class AccessRequestForm(forms.Form):
    username = forms.CharField(
        label="Whose access",
        max_length=150,
        help_text="Your own username, or a colleague's.",
    )
    group = forms.ChoiceField(label="Group")
    operation = forms.ChoiceField(
        label="Change",
        choices=[("add", "Add to the group"), ("remove", "Remove from the group")],
        widget=forms.RadioSelect,
        initial="add",
    )
    valid_until = forms.DateField(
        label="Until (optional)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The membership lapses by itself after this day.",
    )
    reason = _reason_field()

    def __init__(self, *args: Any, groups: list[tuple[GroupRef, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        group_field: Any = self.fields["group"]
        group_field.choices = [("", "— choose a group —"), *group_choice_list(groups)]

    def clean_valid_until(self) -> date | None:
        day: date | None = self.cleaned_data.get("valid_until")
        if day is not None and day < timezone.localdate():
            raise forms.ValidationError("The end date lies in the past.")
        return day

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("valid_until") and data.get("operation") == AccessRequest.Operation.REMOVE:
            self.add_error("valid_until", "An end date belongs to an addition.")
        return data

    def end_of_valid_until(self) -> datetime | None:
        """The membership lasts through the chosen day (local time)."""
        day: date | None = self.cleaned_data["valid_until"]
        if day is None:
            return None
        return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "approve"), ("refuse", "refuse")])
    reason = _reason_field(required=False)
    reference = forms.CharField(
        label="Reference (e.g. the assembly's minutes)",
        required=False,
        max_length=REFERENCE_LIMIT,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == "refuse" and not (data.get("reason") or "").strip():
            self.add_error("reason", "Say why you refuse.")
        return data

    @property
    def approve(self) -> bool:
        return bool(self.cleaned_data["decision"] == "approve")


class HistoryFilterForm(forms.Form):
    user = forms.CharField(label="User", required=False, max_length=150)


class EnrolmentPasswordForm(forms.Form):
    password1 = forms.CharField(
        label="New password",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "autofocus": True}),
        help_text="At least 12 characters; a passphrase of several words works well.",
    )
    password2 = forms.CharField(
        label="The same password again",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password1") != data.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        return data


class EnrolmentCodeForm(forms.Form):
    device_id = forms.IntegerField(widget=forms.HiddenInput)
    code = forms.CharField(
        max_length=32,
        label="Code shown by the app",
        widget=forms.TextInput(
            attrs={"autofocus": True, "autocomplete": "one-time-code", "inputmode": "numeric"}
        ),
    )


def problems(form: forms.Form) -> list[str]:
    """Every error of a bound form, as sentences naming the field."""
    found = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        for error in errors:
            found.append(f"{label or name}: {error}" if name != "__all__" else str(error))
    return found
