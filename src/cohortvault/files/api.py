"""File routes: streaming upload and download, listing, folders, moves, versions, restore,
resumable uploads and batches. Every route calls one service function."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from django.urls import register_converter
from django.utils.http import content_disposition_header
from ninja import Router, Schema
from ninja.responses import Status

from cohortvault.access.policy import Action
from cohortvault.access.requirements import requires
from cohortvault.errors import Invalid
from cohortvault.files import services, uploads
from cohortvault.files.services import Entry


class AnyPath:
    """Like Django's ``path`` converter, but also matching line breaks, so that a hostile name
    reaches the path checks (and the audit trail) instead of falling through to a plain 404."""

    regex = r"[\s\S]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(AnyPath, "anypath")
router = Router(tags=["files"])


class EntryOut(Schema):
    path: str
    name: str
    kind: str
    size: int | None
    modified_at: datetime
    modified_by: str
    version: int | None
    deleted_at: datetime | None = None


class ListingOut(Schema):
    folder: EntryOut
    entries: list[EntryOut]


class VersionOut(Schema):
    id: int
    size: int
    created_at: datetime
    created_by: str
    note: str
    current: bool
    restorable_until: datetime | None


class MoveIn(Schema):
    source: str
    target: str


class RestoreIn(Schema):
    version: int | None = None


class UploadIn(Schema):
    path: str
    size: int | None = None


class UploadOut(Schema):
    id: str
    path: str
    offset: int
    expected_size: int | None
    expires_at: datetime


def principal(request: HttpRequest) -> Any:
    return request.principal  # type: ignore[attr-defined]


def content_length(request: HttpRequest, *, required: bool = True) -> int | None:
    raw = request.META.get("CONTENT_LENGTH") or ""
    if not (raw.isascii() and raw.isdigit()):
        if required:
            raise Invalid("Send the body with a Content-Length header.")
        return None
    return int(raw)


def listing_out(listing: services.Listing) -> ListingOut:
    return ListingOut(
        folder=EntryOut(**listing.folder.__dict__),
        entries=[EntryOut(**e.__dict__) for e in listing.entries],
    )


def download_response(download: services.Download) -> StreamingHttpResponse:
    response = StreamingHttpResponse(download.chunks, content_type="application/octet-stream")
    response["Content-Length"] = str(download.size)
    response["Content-Disposition"] = content_disposition_header(True, download.entry.name) or ""
    response["Cache-Control"] = "no-store"
    response["X-Cohortvault-Version"] = str(download.entry.version)
    return response


@router.get("/files/{anypath:path}", response={200: ListingOut})
@requires(action=Action.READ, resource="area path")
def get_file(request: HttpRequest, path: str, version: int | None = None) -> Any:
    """Download a file (as an attachment), or list a folder."""
    found = services.fetch(principal(request), path, version=version)
    if isinstance(found, services.Listing):
        return listing_out(found)
    return download_response(found)


@router.put("/files/{anypath:path}", response={201: EntryOut})
@requires(action=Action.WRITE, resource="area path")
def put_file(request: HttpRequest, path: str) -> Status[Entry]:
    """Store the request body as the file's new content (streamed; needs Content-Length)."""
    size = content_length(request)
    return Status(201, services.write_file(principal(request), path, request, size=size))


@router.delete("/files/{anypath:path}", response=EntryOut)
@requires(action=Action.DELETE, resource="area path")
def delete_file(request: HttpRequest, path: str) -> Entry:
    """Delete a file or folder; it stays restorable for the retention period."""
    return services.delete(principal(request), path)


@router.get("/stat/{anypath:path}", response=EntryOut)
@requires(action=Action.READ, resource="area path")
def stat(request: HttpRequest, path: str) -> Entry:
    return services.stat(principal(request), path)


@router.get("/list/{anypath:path}", response=ListingOut)
@requires(action=Action.LIST, resource="area path")
def list_folder(request: HttpRequest, path: str) -> ListingOut:
    return listing_out(services.list_folder(principal(request), path))


@router.post("/folders/{anypath:path}", response={201: EntryOut})
@requires(action=Action.WRITE, resource="area path")
def make_folder(request: HttpRequest, path: str) -> Status[Entry]:
    return Status(201, services.make_folder(principal(request), path))


@router.post("/move", response=EntryOut)
@requires(action=Action.WRITE, resource="area path")
def move(request: HttpRequest, payload: MoveIn) -> Entry:
    """Move or rename within an area."""
    return services.move(principal(request), payload.source, payload.target)


@router.get("/versions/{anypath:path}", response=list[VersionOut])
@requires(action=Action.WRITE, resource="area path")
def versions(request: HttpRequest, path: str) -> list[services.VersionInfo]:
    """Current and retained earlier versions of a file (for those who may write its area)."""
    return services.versions(principal(request), path)


@router.get("/deleted/{anypath:path}", response=list[EntryOut])
@requires(action=Action.WRITE, resource="area path")
def recently_deleted(request: HttpRequest, path: str) -> list[Entry]:
    """What was deleted under a folder and can still be restored."""
    return services.recently_deleted(principal(request), path)


@router.post("/restore/{anypath:path}", response=EntryOut)
@requires(action=Action.WRITE, resource="area path")
def restore(request: HttpRequest, path: str, payload: RestoreIn) -> Entry:
    """Undelete, or make an earlier version current again."""
    return services.restore(principal(request), path, version=payload.version)


@router.post("/batch/{anypath:path}", response={201: list[EntryOut]})
@requires(action=Action.WRITE, resource="area path")
def batch(request: HttpRequest, path: str) -> Status[list[Entry]]:
    """Store every file of a tar body under the folder, all or nothing."""
    size = content_length(request)
    return Status(201, uploads.write_batch(principal(request), path, request, size=size))  # type: ignore[arg-type]


@router.post("/uploads", response={201: UploadOut})
@requires(action=Action.WRITE, resource="area path")
def start_upload(request: HttpRequest, payload: UploadIn) -> Status[uploads.UploadState]:
    """Begin a resumable upload; send chunks with PUT, then complete it."""
    return Status(201, uploads.start_upload(principal(request), payload.path, size=payload.size))


@router.get("/uploads/{upload_id}", response=UploadOut)
@requires(action=Action.WRITE, resource="own upload")
def upload_state(request: HttpRequest, upload_id: str) -> uploads.UploadState:
    """Where an upload stands: resume from ``offset``."""
    return uploads.upload_state(principal(request), upload_id)


@router.put("/uploads/{upload_id}", response=UploadOut)
@requires(action=Action.WRITE, resource="own upload")
def append_upload(request: HttpRequest, upload_id: str, offset: int) -> uploads.UploadState:
    """Append the body as the chunk starting at ``offset``."""
    return uploads.append_upload(
        principal(request),
        upload_id,
        offset=offset,
        source=request,
        length=content_length(request),
    )


@router.post("/uploads/{upload_id}/complete", response={201: EntryOut})
@requires(action=Action.WRITE, resource="own upload")
def complete_upload(request: HttpRequest, upload_id: str) -> Status[Entry]:
    return Status(201, uploads.complete_upload(principal(request), upload_id))


@router.delete("/uploads/{upload_id}", response={204: None})
@requires(action=Action.WRITE, resource="own upload")
def abort_upload(request: HttpRequest, upload_id: str) -> Status[None]:
    uploads.abort_upload(principal(request), upload_id)
    return Status(204, None)
