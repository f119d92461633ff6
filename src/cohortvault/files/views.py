"""The file browser: the areas I can reach, folder listings, file pages with their versions,
uploads and downloads, new folders, moves, deletion and self-service restore.

Each view parses its input, calls one service function of ``files.services`` (which checks the
policy and writes the audit entry) and renders the result. The policy is asked here only to
decide which buttons to show; refusals come from the services and become error pages.

Form uploads are held in memory, never in a temporary file, so they are capped per request;
the page's script (``files/upload.js``) sends each file to the REST API instead, streamed and
with progress, so large files go that way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from cohortvault.access.policy import Action, Area, Principal, decide
from cohortvault.access.requirements import requires
from cohortvault.consortium.services import reachable_areas
from cohortvault.errors import CohortvaultError, Invalid
from cohortvault.files import services
from cohortvault.files.forms import (
    MoveForm,
    NewFolderForm,
    VersionForm,
    cleaned,
    hold_in_memory,
    too_large,
)
from cohortvault.files.services import Entry
from cohortvault.storage import paths

#: The most a plain (JavaScript-free) form upload may send in one request; it is held in memory.
FORM_UPLOAD_LIMIT = 32 * 1024 * 1024


@dataclass(frozen=True)
class Crumb:
    name: str
    url: str


@dataclass(frozen=True)
class Row:
    """A listed entry with its path inside the area (what the rename form shows)."""

    entry: Entry
    inner_path: str
    restorable_until: datetime | None = None


def _principal(request: HttpRequest) -> Principal:
    return request.principal  # type: ignore[attr-defined,no-any-return]


def _may(request: HttpRequest, action: Action, area: Area) -> bool:
    """Whether to show the buttons for ``action``; the service decides again when used."""
    return decide(_principal(request), action, area).allowed


def _area_of(checked_path: str) -> Area:
    """The area of a path a service has already accepted (and normalised)."""
    return paths.parse(checked_path).area


def _inner(area: Area, full_path: str) -> str:
    return full_path[len(area.path) + 1 :]


def _parent(full_path: str) -> str:
    return full_path.rsplit("/", 1)[0]


def _join(folder: str, name: str) -> str:
    """A name typed (or uploaded) in a folder; the service checks the result as a whole."""
    return f"{folder.rstrip('/')}/{name}"


def _folder_url(path: str) -> str:
    return reverse("files:folder", args=[path])


def _breadcrumbs(area: Area, full_path: str) -> list[Crumb]:
    crumbs = [Crumb("Files", reverse("files:areas")), Crumb(area.path, _folder_url(area.path))]
    walked = area.path
    for name in [part for part in _inner(area, full_path).split("/") if part]:
        walked = f"{walked}/{name}"
        crumbs.append(Crumb(name, _folder_url(walked)))
    return crumbs


# --- pages ----------------------------------------------------------------------------------


@requires(action=Action.LIST, resource="reachable areas")
@require_GET
def area_list(request: HttpRequest) -> HttpResponse:
    return render(request, "files/areas.html", {"areas": reachable_areas(_principal(request))})


@requires(action=Action.LIST, resource="area path")
@require_GET
def folder(request: HttpRequest, path: str) -> HttpResponse:
    listing = services.list_folder(_principal(request), path)
    area = listing.area
    rows = [Row(entry, _inner(area, entry.path)) for entry in listing.entries]
    context = {
        "listing": listing,
        "rows": rows,
        "crumbs": _breadcrumbs(area, listing.folder.path),
        "is_root": listing.folder.path == area.path,
        "may_write": _may(request, Action.WRITE, area),
        "may_delete": _may(request, Action.DELETE, area),
        "form_upload_limit": FORM_UPLOAD_LIMIT,
    }
    return render(request, "files/folder.html", context)


@requires(action=Action.READ, resource="area path")
@require_GET
def file_page(request: HttpRequest, path: str) -> HttpResponseBase:
    entry = services.stat(_principal(request), path)
    if entry.is_folder:
        return redirect(_folder_url(entry.path))
    area = _area_of(entry.path)
    may_write = _may(request, Action.WRITE, area)
    context = {
        "entry": entry,
        "area": area,
        "inner_path": _inner(area, entry.path),
        "crumbs": _breadcrumbs(area, entry.path),
        "may_write": may_write,
        "may_delete": _may(request, Action.DELETE, area),
        # earlier versions are for those who may restore them (the service says the same)
        "history": services.versions(_principal(request), entry.path) if may_write else [],
    }
    return render(request, "files/file.html", context)


@requires(action=Action.WRITE, resource="area path")
@require_GET
def recently_deleted(request: HttpRequest, path: str) -> HttpResponse:
    found = services.recently_deleted(_principal(request), path)
    folder_path = paths.parse(path).full  # accepted by the service just now
    area = _area_of(folder_path)
    keep = services.retention()
    rows = [
        Row(e, _inner(area, e.path), e.deleted_at + keep if e.deleted_at else None) for e in found
    ]
    context = {
        "rows": rows,
        "folder_path": folder_path,
        "crumbs": [*_breadcrumbs(area, folder_path), Crumb("Recently deleted", "")],
        "retention_days": keep.days,
    }
    return render(request, "files/deleted.html", context)


@requires(action=Action.READ, resource="area path")
@require_GET
def download(request: HttpRequest, path: str) -> StreamingHttpResponse:
    version = cleaned(VersionForm(request.GET))["version"]
    found = services.read_file(_principal(request), path, version=version)
    response = StreamingHttpResponse(found.chunks, content_type="application/octet-stream")
    response["Content-Length"] = str(found.size)
    response["Content-Disposition"] = content_disposition_header(True, found.entry.name) or ""
    response["Cache-Control"] = "no-store"
    return response


# --- changes --------------------------------------------------------------------------------


@requires(action=Action.WRITE, resource="area path")
@csrf_exempt  # the CSRF check needs the body, which must first get the memory-only handler
@require_POST
def upload(request: HttpRequest, path: str) -> HttpResponseBase:
    """Store the files of a plain multipart form post in the folder ``path``."""
    hold_in_memory(request, FORM_UPLOAD_LIMIT, lambda size: too_large(size, FORM_UPLOAD_LIMIT))
    return _store_uploads(request, path)


@csrf_protect
def _store_uploads(request: HttpRequest, path: str) -> HttpResponseBase:
    files = request.FILES.getlist("files")
    if not files:
        raise Invalid("Choose one or more files to upload.")
    stored: list[Entry] = []
    refused: list[tuple[str, CohortvaultError]] = []
    for uploaded in files:
        name = uploaded.name or ""
        try:
            stored.append(
                services.write_file(
                    _principal(request), _join(path, name), uploaded, size=uploaded.size
                )
            )
        except CohortvaultError as exc:
            refused.append((name, exc))
    if refused:
        context = {"stored": stored, "refused": refused, "folder_path": path}
        return render(request, "files/upload_result.html", context, status=refused[0][1].status)
    names = ", ".join(entry.name for entry in stored)
    messages.success(request, f"Stored {len(stored)} file{'s' * (len(stored) != 1)}: {names}.")
    return redirect(_folder_url(_parent(stored[0].path)))


@requires(action=Action.WRITE, resource="area path")
@require_POST
def new_folder(request: HttpRequest, path: str) -> HttpResponseRedirect:
    name = cleaned(NewFolderForm(request.POST))["name"]
    entry = services.make_folder(_principal(request), _join(path, name))
    messages.success(request, f"Created folder {entry.name}.")
    return redirect(_folder_url(_parent(entry.path)))


@requires(action=Action.WRITE, resource="area path")
@require_POST
def move(request: HttpRequest, path: str) -> HttpResponseRedirect:
    form = cleaned(MoveForm(request.POST))
    target = _join(form["area"], form["target"].strip("/"))
    entry = services.move(_principal(request), path, target)
    messages.success(request, f"Moved to {entry.path}.")
    return redirect(_folder_url(_parent(entry.path)))


@requires(action=Action.DELETE, resource="area path")
@require_POST
def delete(request: HttpRequest, path: str) -> HttpResponseRedirect:
    entry = services.delete(_principal(request), path)
    days = services.retention().days
    messages.success(
        request,
        f"Deleted {entry.name}. It can be restored from “Recently deleted” for {days} days.",
    )
    return redirect(_folder_url(_parent(entry.path)))


@requires(action=Action.WRITE, resource="area path")
@require_POST
def restore(request: HttpRequest, path: str) -> HttpResponseRedirect:
    version = cleaned(VersionForm(request.POST))["version"]
    entry = services.restore(_principal(request), path, version=version)
    if version is not None:
        messages.success(request, f"Restored an earlier version of {entry.name}.")
        return redirect(reverse("files:file", args=[entry.path]))
    messages.success(request, f"Restored {entry.name}.")
    return redirect(_folder_url(_parent(entry.path)))
