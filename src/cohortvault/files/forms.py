"""What the file browser's forms send, checked before any service is called.

Paths typed here are only joined to the folder they were typed in; checking them is the
service's job (``storage.paths`` through ``files.services``), which refuses anything that
would leave the area.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.http import HttpRequest, QueryDict
from django.template.defaultfilters import filesizeformat
from django.utils.datastructures import MultiValueDict

from cohortvault.errors import Invalid
from cohortvault.storage.blobs import TooLarge


class NewFolderForm(forms.Form):
    name = forms.CharField(max_length=1024, label="New folder")


class MoveForm(forms.Form):
    area = forms.CharField(max_length=200, widget=forms.HiddenInput)
    target = forms.CharField(max_length=1024, label="New path in the area")


class VersionForm(forms.Form):
    version = forms.IntegerField(required=False, min_value=1)


def cleaned(form: forms.Form) -> dict[str, Any]:
    """The form's values, or ``Invalid`` saying what is wrong (shown on the error page)."""
    if not form.is_valid():
        problems = "; ".join(
            f"{field}: {' '.join(str(e) for e in errors)}" for field, errors in form.errors.items()
        )
        raise Invalid(f"The form is not valid ({problems}).", details=[form.errors.get_json_data()])
    return form.cleaned_data


def too_large(size: int | None, limit: int) -> TooLarge:
    sent = f"{filesizeformat(size)} is" if size is not None else "This upload is"
    return TooLarge(
        f"{sent} more than a plain form upload can take ({filesizeformat(limit)} per upload). "
        "With JavaScript enabled the upload form sends each file on its own, so large files "
        "work there; the command line (cohortvault files put) handles them too."
    )


def hold_in_memory(
    request: HttpRequest, limit: int, refusal: str | Callable[[int | None], Exception]
) -> None:
    """Give a form post the memory-only handler (call before anything reads the body), after
    refusing one without a Content-Length or over ``limit`` bytes.

    ``refusal`` is the message of the ``Invalid`` raised for a body that is too large, or
    builds the error from the size sent (None once the body turned out longer than it said).
    """
    refuse = refusal if callable(refusal) else lambda _size: Invalid(refusal)
    raw_length = request.META.get("CONTENT_LENGTH") or ""
    if not raw_length.isdigit():
        raise Invalid("The form was sent without a Content-Length; please try again.")
    if int(raw_length) > limit:
        raise refuse(int(raw_length))
    request.upload_handlers = [MemoryOnlyUploadHandler(request, limit, refuse)]


class MemoryOnlyUploadHandler(MemoryFileUploadHandler):
    """Holds every uploaded file of a form post in memory, never in a temporary file: plaintext
    must not reach the disk before it is encrypted. Requests over ``limit`` bytes are refused."""

    def __init__(
        self, request: HttpRequest, limit: int, refuse: Callable[[int | None], Exception]
    ) -> None:
        super().__init__(request)
        self.limit = limit
        self.refuse = refuse
        self.received = 0

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, str],
        content_length: int,
        boundary: str,
        encoding: str | None = None,
    ) -> tuple[QueryDict, MultiValueDict[str, Any]] | None:
        if content_length > self.limit:
            raise self.refuse(content_length)
        self.activated = True
        return None

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > self.limit:
            raise self.refuse(None)
        self.file.write(raw_data)
        return None
