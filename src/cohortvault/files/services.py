"""The file service: the only doors to files, for every front door (web, API, CLI, SFTP, jobs).

Each function takes the acting principal and a raw path, parses and checks the path (once, in
``storage.paths``), asks the policy, and audits the call, reads included. Content is encrypted
under the area's key by the blob store before any database row refers to it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from cohortvault.access.guard import authorize
from cohortvault.access.policy import Action, Area, AreaKind, Principal, decide
from cohortvault.audit.trail import Outcome, record
from cohortvault.consortium.models import Project, Site
from cohortvault.errors import Conflict, Invalid, NotFound
from cohortvault.files.models import FileVersion, Node, path_key
from cohortvault.storage import blobs, paths
from cohortvault.storage.keys import AreaSecrets, ensure_area_key, secrets_for
from cohortvault.storage.maintenance import backend
from cohortvault.storage.models import AreaKey, Blob

__all__ = [
    "Download",
    "Entry",
    "Listing",
    "VersionInfo",
    "delete",
    "fetch",
    "list_folder",
    "make_folder",
    "move",
    "read_file",
    "recently_deleted",
    "restore",
    "stat",
    "versions",
    "write_file",
]


class InsufficientStorage(Conflict):
    status = 507
    code = "insufficient_storage"
    default_message = "There is not enough free space to store this upload."


@dataclass(frozen=True)
class Entry:
    path: str
    name: str
    kind: str
    size: int | None
    modified_at: datetime
    modified_by: str
    version: int | None
    deleted_at: datetime | None = None

    @property
    def is_folder(self) -> bool:
        return self.kind == Node.Kind.FOLDER


@dataclass(frozen=True)
class Listing:
    folder: Entry
    entries: list[Entry]
    area: Area


@dataclass(frozen=True)
class VersionInfo:
    id: int
    size: int
    created_at: datetime
    created_by: str
    note: str
    current: bool
    restorable_until: datetime | None


@dataclass(frozen=True)
class Download:
    entry: Entry
    size: int
    chunks: Iterator[bytes]


def retention() -> timedelta:
    return timedelta(days=settings.COHORTVAULT_RETENTION_DAYS)


def entry_of(node: Node) -> Entry:
    version = node.current
    return Entry(
        path=node.full_path,
        name=node.name,
        kind=node.kind,
        size=version.size if version and node.kind == Node.Kind.FILE else None,
        modified_at=node.updated_at,
        modified_by=node.updated_by,
        version=version.pk if version else None,
        deleted_at=node.deleted_at,
    )


def _root_entry(area_path: paths.AreaPath) -> Entry:
    return Entry(
        path=area_path.area.path,
        name=area_path.area.path.rsplit("/", 1)[-1],
        kind=Node.Kind.FOLDER,
        size=None,
        modified_at=timezone.now(),
        modified_by="",
        version=None,
    )


# --- checking a request ---------------------------------------------------------------------


def parse(principal: Principal, raw_path: str, operation: str) -> paths.AreaPath:
    """Parse a path or refuse it, auditing the refusal (traversal attempts leave a trace)."""
    try:
        return paths.parse(raw_path)
    except Invalid as exc:
        with transaction.atomic():
            record(
                f"files.{operation}",
                actor=principal,
                outcome=Outcome.FAILED,
                target=str(raw_path)[:200],
                reason=exc.message,
            )
        raise


def _authorize(principal: Principal, action: Action, area_path: paths.AreaPath) -> None:
    """Ask the policy; an area the principal cannot even read answers like a missing one."""
    conceal = not decide(principal, Action.READ, area_path.area).allowed
    authorize(principal, action, area_path.area, conceal=conceal, target=area_path.full)
    if not _area_exists(area_path.area):
        raise NotFound()


def _area_exists(area: Area) -> bool:
    match area.kind:
        case AreaKind.HOME | AreaKind.LOGS:
            return True
        case AreaKind.SITE_DATA | AreaKind.SITE_IMPORT:
            return Site.objects.filter(code=area.key).exists()
        case AreaKind.PROJECT:
            return Project.objects.filter(code=area.key, status=Project.Status.ACTIVE).exists()
        case AreaKind.EXPORT_OUTBOX:
            return False  # export requests come with the exports issue
    return False


def checked(principal: Principal, raw_path: str, action: Action, operation: str) -> paths.AreaPath:
    area_path = parse(principal, raw_path, operation)
    _authorize(principal, action, area_path)
    return area_path


def _live_node(area_path: paths.AreaPath) -> Node | None:
    return (
        Node.objects.select_related("current")
        .filter(key=path_key(area_path.area.path, area_path.path), deleted_at__isnull=True)
        .first()
    )


def _require_node(area_path: paths.AreaPath) -> Node:
    node = _live_node(area_path)
    if node is None:
        raise NotFound()
    return node


def _audit(
    principal: Principal, operation: str, area_path: paths.AreaPath | str, **details: Any
) -> None:
    with transaction.atomic():
        record(f"files.{operation}", actor=principal, target=str(area_path), details=details)


# --- reading --------------------------------------------------------------------------------


def stat(principal: Principal, raw_path: str) -> Entry:
    area_path = checked(principal, raw_path, Action.READ, "stat")
    entry = _root_entry(area_path) if not area_path.path else entry_of(_require_node(area_path))
    _audit(principal, "stat", area_path)
    return entry


def list_folder(principal: Principal, raw_path: str) -> Listing:
    area_path = checked(principal, raw_path, Action.LIST, "list")
    node = _require_node(area_path) if area_path.path else None
    if node is not None and node.kind != Node.Kind.FOLDER:
        raise Invalid(f"{area_path} is a file, not a folder.")
    return _listing(principal, area_path, node)


def fetch(principal: Principal, raw_path: str, *, version: int | None = None) -> Download | Listing:
    """A file's content, or a folder's listing: one check and one audit entry either way."""
    area_path = checked(principal, raw_path, Action.READ, "read")
    node = _require_node(area_path) if area_path.path else None
    if node is None or node.kind == Node.Kind.FOLDER:
        return _listing(principal, area_path, node)
    return _download(principal, area_path, node, version)


def _listing(principal: Principal, area_path: paths.AreaPath, node: Node | None) -> Listing:
    folder = entry_of(node) if node is not None else _root_entry(area_path)
    children = (
        Node.objects.select_related("current")
        .filter(parent_key=path_key(area_path.area.path, area_path.path), deleted_at__isnull=True)
        .exclude(path="")
        .order_by("-kind", "name")
    )
    entries = [entry_of(node) for node in children]
    _audit(principal, "list", area_path, entries=len(entries))
    return Listing(folder=folder, entries=entries, area=area_path.area)


def area_secrets(area: Area) -> tuple[AreaKey, AreaSecrets]:
    row = ensure_area_key(area)
    return row, secrets_for(row)


def blob_chunks(blob: Blob) -> Iterator[bytes]:
    """Decrypt a blob part after part."""
    keys = secrets_for(blob.area_key)
    store = backend()
    for part in range(blob.parts):
        yield from blobs.read_part(store, keys, blob.id.hex, part)


def read_file(principal: Principal, raw_path: str, *, version: int | None = None) -> Download:
    """A file's content (or a retained earlier version) as a stream of decrypted blocks."""
    area_path = checked(principal, raw_path, Action.READ, "read")
    node = _require_node(area_path)
    if node.kind != Node.Kind.FILE or node.current is None:
        raise Invalid(f"{area_path} is a folder; list it instead.")
    return _download(principal, area_path, node, version)


def _download(
    principal: Principal, area_path: paths.AreaPath, node: Node, version: int | None
) -> Download:
    assert node.current is not None
    chosen = node.current
    if version is not None and version != chosen.pk:
        chosen = _retained_versions(node).filter(pk=version).first()  # type: ignore[assignment]
        if chosen is None:
            raise NotFound("That version does not exist or is no longer kept.")
    blob = Blob.objects.select_related("area_key").get(pk=chosen.blob_id)
    _audit(principal, "read", area_path, version=chosen.pk, size=chosen.size)
    return Download(entry=entry_of(node), size=chosen.size, chunks=blob_chunks(blob))


# --- writing --------------------------------------------------------------------------------


def check_room(size: int | None) -> None:
    """Refuse an upload that is too large or would fill the disk, before storing anything."""
    limit = settings.COHORTVAULT_MAX_UPLOAD_SIZE
    if size is not None and size > limit:
        raise blobs.TooLarge(f"{size} bytes is more than the limit of {limit} bytes.")
    free = backend().free_bytes()
    if free is not None and (size or 0) + settings.COHORTVAULT_MIN_FREE_SPACE > free:
        raise InsufficientStorage()


def ensure_folders(area: str, folder: str, actor: str) -> None:
    """Create (or bring back) ``folder`` and every folder above it; refuse if one is a file."""
    parts = folder.split("/") if folder else []
    for depth in range(1, len(parts) + 1):
        folder = "/".join(parts[:depth])
        node = Node.objects.select_for_update().filter(key=path_key(area, folder)).first()
        if node is None:
            Node.objects.create(area=area, path=folder, kind=Node.Kind.FOLDER, updated_by=actor)
        elif node.kind == Node.Kind.FILE and node.deleted_at is None:
            raise Conflict(f"{area}/{folder} is a file, so it cannot hold other files.")
        elif node.deleted_at is not None:
            node.kind, node.deleted_at, node.current = Node.Kind.FOLDER, None, None
            node.updated_at, node.updated_by = timezone.now(), actor
            node.save()


def file_node(area_path: paths.AreaPath, actor: str) -> Node:
    area, path = area_path.area.path, area_path.path
    ensure_folders(area, area_path.parent, actor)
    node = Node.objects.select_for_update().filter(key=path_key(area, path)).first()
    if node is None:
        return Node.objects.create(area=area, path=path, kind=Node.Kind.FILE, updated_by=actor)
    if node.kind == Node.Kind.FOLDER and node.deleted_at is None:
        raise Conflict(f"{area_path} is a folder.")
    node.kind = Node.Kind.FILE
    return node


def add_version(node: Node, blob: Blob, principal: Principal, *, note: str = "") -> FileVersion:
    """Make ``blob`` the node's current content; the previous one starts its retention."""
    now = timezone.now()
    if node.current_id is not None:
        FileVersion.objects.filter(pk=node.current_id, replaced_at__isnull=True).update(
            replaced_at=now
        )
    version = FileVersion.objects.create(
        node=node,
        blob=blob,
        size=blob.size,
        checksum=blob.checksum,
        created_by=principal.username,
        note=note,
        created_at=now,
    )
    node.current = version
    node.deleted_at, node.deleted_by = None, ""
    node.updated_at, node.updated_by = now, principal.username
    node.save()
    return version


def store_blob(
    key_row: AreaKey, keys: AreaSecrets, source: Any, *, size: int | None, durable: bool = True
) -> Blob:
    """Encrypt ``source`` into a new blob file; returns its (unsaved) row."""
    blob_id = blobs.new_blob_id()
    written = blobs.write_part(
        backend(),
        keys,
        blob_id,
        0,
        source,
        limit=settings.COHORTVAULT_MAX_UPLOAD_SIZE,
        expected_size=size,
        durable=durable,
    )
    return Blob(
        id=uuid.UUID(blob_id),
        area_key=key_row,
        size=written.size,
        part_sizes=[written.size],
        part_checksums=[written.checksum],
        checksum=blobs.combine_checksums(keys.mac_key, [written.checksum]),
        complete=True,
    )


def write_file(
    principal: Principal, raw_path: str, source: Any, *, size: int | None = None
) -> Entry:
    """Store ``source`` (anything with ``read``) as the new content of a file.

    ``size`` is the length the sender announced: a shorter stream (a client that went away)
    stores nothing. The previous content stays restorable for the retention period.
    """
    area_path = checked(principal, raw_path, Action.WRITE, "write")
    if not area_path.path:
        raise Invalid("Give a file name inside the area.")
    check_room(size)
    key_row, keys = area_secrets(area_path.area)
    blob = store_blob(key_row, keys, source, size=size)
    try:
        with transaction.atomic():
            blob.save(force_insert=True)
            node = file_node(area_path, principal.username)
            version = add_version(node, blob, principal)
            record(
                "files.write",
                actor=principal,
                target=area_path.full,
                details={"version": version.pk, "size": blob.size},
            )
    except BaseException:
        backend().delete(blob.id.hex)
        raise
    return entry_of(node)


def make_folder(principal: Principal, raw_path: str) -> Entry:
    area_path = checked(principal, raw_path, Action.WRITE, "mkdir")
    if not area_path.path:
        return _root_entry(area_path)
    with transaction.atomic():
        ensure_folders(area_path.area.path, area_path.path, principal.username)
        node = Node.objects.get(key=path_key(area_path.area.path, area_path.path))
        record("files.mkdir", actor=principal, target=area_path.full)
    return entry_of(node)


def _subtree(node: Node) -> QuerySet[Node]:
    prefix = node.path + "/"
    return Node.objects.filter(area=node.area).filter(Q(pk=node.pk) | Q(path__startswith=prefix))


def delete(principal: Principal, raw_path: str) -> Entry:
    """Delete a file or a folder with everything in it; restorable for the retention period."""
    area_path = checked(principal, raw_path, Action.DELETE, "delete")
    if not area_path.path:
        raise Invalid("An area itself cannot be deleted.")
    with transaction.atomic():
        node = _require_node(area_path)
        now = timezone.now()
        affected = _subtree(node).filter(deleted_at__isnull=True)
        FileVersion.objects.filter(
            pk__in=affected.exclude(current__isnull=True).values("current_id"),
            replaced_at__isnull=True,
        ).update(replaced_at=now)
        count = affected.update(deleted_at=now, deleted_by=principal.username)
        record("files.delete", actor=principal, target=area_path.full, details={"items": count})
        node.refresh_from_db()
    return entry_of(node)


def move(principal: Principal, raw_source: str, raw_target: str) -> Entry:
    """Move or rename a file or folder inside its area."""
    source = checked(principal, raw_source, Action.WRITE, "move")
    target = checked(principal, raw_target, Action.WRITE, "move")
    if source.area != target.area:
        raise Invalid("Files move only within their area; copy them to another area instead.")
    if not source.path or not target.path:
        raise Invalid("An area root cannot be moved, nor replaced.")
    if target.path == source.path or target.path.startswith(source.path + "/"):
        raise Invalid("A folder cannot be moved into itself.")
    area = source.area.path
    with transaction.atomic():
        node = _require_node(source)
        if Node.objects.filter(key=path_key(area, target.path)).exists():
            raise Conflict(f"{target} exists (or was recently deleted and can be restored).")
        ensure_folders(area, target.parent, principal.username)
        descendants = list(Node.objects.filter(area=area, path__startswith=node.path + "/"))
        old_prefix = node.path
        node.path, node.updated_at, node.updated_by = (
            target.path,
            timezone.now(),
            principal.username,
        )
        node.save()
        for child in descendants:
            child.path = target.path + child.path[len(old_prefix) :]
            child.save()
        record("files.move", actor=principal, target=source.full, details={"to": target.full})
    return entry_of(node)


# --- versions and restore -------------------------------------------------------------------


def _retained_versions(node: Node) -> QuerySet[FileVersion]:
    cutoff = timezone.now() - retention()
    return node.versions.filter(Q(replaced_at__isnull=True) | Q(replaced_at__gt=cutoff))


def _any_node(area_path: paths.AreaPath) -> Node:
    node = (
        Node.objects.select_related("current")
        .filter(key=path_key(area_path.area.path, area_path.path))
        .first()
    )
    cutoff = timezone.now() - retention()
    if node is None or (node.deleted_at is not None and node.deleted_at <= cutoff):
        raise NotFound()
    return node


def versions(principal: Principal, raw_path: str) -> list[VersionInfo]:
    """The file's current and retained earlier versions, newest first (for its writers)."""
    area_path = checked(principal, raw_path, Action.WRITE, "versions")
    node = _any_node(area_path)
    keep = retention()
    found = [
        VersionInfo(
            id=v.pk,
            size=v.size,
            created_at=v.created_at,
            created_by=v.created_by,
            note=v.note,
            current=v.pk == node.current_id and node.deleted_at is None,
            restorable_until=v.replaced_at + keep if v.replaced_at else None,
        )
        for v in _retained_versions(node).order_by("-created_at", "-id")
    ]
    _audit(principal, "versions", area_path, count=len(found))
    return found


def recently_deleted(principal: Principal, raw_path: str) -> list[Entry]:
    """Files and folders deleted under a folder within the retention period (top-most only)."""
    area_path = checked(principal, raw_path, Action.WRITE, "deleted")
    cutoff = timezone.now() - retention()
    scope = Node.objects.select_related("current").filter(
        area=area_path.area.path, deleted_at__gt=cutoff
    )
    if area_path.path:
        scope = scope.filter(path__startswith=area_path.path + "/")
    nodes = list(scope.order_by("-deleted_at", "path"))
    deleted_at = {n.path: n.deleted_at for n in nodes}
    top = [
        n
        for n in nodes
        if not any(deleted_at.get(ancestor) == n.deleted_at for ancestor in _ancestors(n.path))
    ]
    _audit(principal, "deleted", area_path, count=len(top))
    return [entry_of(n) for n in top]


def _ancestors(path: str) -> Iterator[str]:
    parts = path.split("/")
    for depth in range(1, len(parts)):
        yield "/".join(parts[:depth])


def restore(principal: Principal, raw_path: str, *, version: int | None = None) -> Entry:
    """Bring back a deleted file or folder (with what was deleted with it), or make an earlier
    version of a file current again. Whoever may write the area may do this."""
    area_path = checked(principal, raw_path, Action.WRITE, "restore")
    with transaction.atomic():
        node = _any_node(area_path)
        restored_items = 0
        if node.deleted_at is not None:
            ensure_folders(
                node.area,
                node.path.rsplit("/", 1)[0] if "/" in node.path else "",
                principal.username,
            )
            together = _subtree(node).filter(deleted_at=node.deleted_at)
            FileVersion.objects.filter(
                pk__in=together.exclude(current__isnull=True).values("current_id")
            ).update(replaced_at=None)
            restored_items = together.update(
                deleted_at=None, deleted_by="", updated_at=timezone.now()
            )
            node.refresh_from_db()
        if version is not None:
            if node.kind != Node.Kind.FILE:
                raise Invalid("Folders have no versions.")
            earlier = _retained_versions(node).filter(pk=version).select_related("blob").first()
            if earlier is None:
                raise NotFound("That version does not exist or is no longer kept.")
            if earlier.pk != node.current_id:
                stamp = timezone.localtime(earlier.created_at).strftime("%Y-%m-%d %H:%M")
                add_version(
                    node,
                    earlier.blob,
                    principal,
                    note=f"restored from version {earlier.pk} of {stamp}",
                )
        elif restored_items == 0:
            raise Conflict(f"{area_path} is not deleted; name a version to restore.")
        record(
            "files.restore",
            actor=principal,
            target=area_path.full,
            details={"version": version, "items": restored_items},
        )
    return entry_of(node)
