"""What the dictionary page's forms send: the search and filters, and the import of a file."""

from __future__ import annotations

from typing import Any

from django import forms

from cohortvault.catalog.formats import Format
from cohortvault.catalog.schema import Sensitivity
from cohortvault.catalog.services import MAX_DICTIONARY_BYTES, MAX_NOTE

#: A form post carries the file plus a little form data around it.
UPLOAD_LIMIT = MAX_DICTIONARY_BYTES + 64 * 1024
TOO_LARGE = f"A dictionary file is at most {MAX_DICTIONARY_BYTES // 2**20} MiB."


class SearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    domain = forms.ChoiceField(required=False)
    sensitivity = forms.ChoiceField(
        required=False, choices=[("", "any"), *((s.value, s.value) for s in Sensitivity)]
    )
    version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, data: Any, *, domains: list[str]) -> None:
        super().__init__(data)
        self.fields["q"].widget.attrs["placeholder"] = "name, label or description"
        domain = self.fields["domain"]
        assert isinstance(domain, forms.ChoiceField)
        domain.choices = [("", "any"), *((d, d) for d in domains)]

    def values(self) -> dict[str, Any]:
        if not self.is_valid():
            return {"q": "", "domain": "", "sensitivity": "", "version": None}
        return self.cleaned_data


class ImportForm(forms.Form):
    file = forms.FileField(
        label="Dictionary file", help_text="JSON Table Schema, CSV or XLSX, at most 4 MiB."
    )
    format = forms.ChoiceField(
        required=False,
        choices=[("", "from the file name"), *((f.value, f.value.upper()) for f in Format)],
    )
    note = forms.CharField(
        required=False,
        max_length=MAX_NOTE,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What changed and why; shown in the version history.",
    )

    def format_of(self) -> str:
        upload = self.cleaned_data["file"]
        return str(self.cleaned_data["format"] or upload.name or "")


def problems_of(form: forms.Form) -> list[dict[str, str]]:
    return [
        {"message": " ".join(str(e) for e in errors), "location": "form", "property": field}
        for field, errors in form.errors.items()
    ]
