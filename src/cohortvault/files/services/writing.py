"""Writing: storing a file's new content, making folders, deleting and moving."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from cohortvault.access.policy import Action, Area, Principal
from cohortvault.audit.trail import record
from cohortvault.errors import Conflict, Invalid
from cohortvault.files.models import FileVersion, Node, path_key
from cohortvault.files.services.common import (
    Entry,
    _require_node,
    _root_entry,
    checked,
    entry_of,
)
from cohortvault.files.signals import file_stored, files_deleted
from cohortvault.storage import blobs, paths
from cohortvault.storage.keys import AreaSecrets, ensure_area_key, secrets_for
from cohortvault.storage.maintenance import backend
from cohortvault.storage.models import AreaKey, Blob


class InsufficientStorage(Conflict):
    status = 507
    code = "insufficient_storage"
    default_message = "There is not enough free space to store this upload."


def area_secrets(area: Area) -> tuple[AreaKey, AreaSecrets]:
    row = ensure_area_key(area)
    return row, secrets_for(row)


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
    file_stored.send(Node, node=node, version=version, principal=principal)
    return version


def lock_file(node: Node, uploader: str, *, reason: str) -> None:
    """Lock a file to its uploader (and the data manager): quality control found personal data.

    The lock stays with the path through deletion and restore: nobody else sees the file, its
    versions, or it among the recently deleted.
    """
    with transaction.atomic():
        Node.objects.filter(pk=node.pk).update(locked_to=uploader)
        record(
            "files.lock",
            actor=Principal.system(),
            target=node.full_path,
            details={"locked_to": uploader},
            reason=reason,
        )


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
        gone = list(affected.filter(kind=Node.Kind.FILE).values_list("pk", flat=True))
        FileVersion.objects.filter(
            pk__in=affected.exclude(current__isnull=True).values("current_id"),
            replaced_at__isnull=True,
        ).update(replaced_at=now)
        count = affected.update(deleted_at=now, deleted_by=principal.username)
        record("files.delete", actor=principal, target=area_path.full, details={"items": count})
        files_deleted.send(Node, node_ids=gone, principal=principal)
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
