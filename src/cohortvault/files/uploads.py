"""Uploads that do not fit one request: resumable uploads in chunks, and batches of many files.

A resumable upload is a blob that grows one encrypted part per chunk; the file appears only
when the upload is completed. A batch is a tar stream of many files stored in one
transaction, all or nothing, with one sync of the disk for all of them.
"""

from __future__ import annotations

import io
import tarfile
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from cohortvault.access.guard import authorize
from cohortvault.access.policy import Action, Principal
from cohortvault.audit.trail import record, record_many
from cohortvault.errors import Conflict, Invalid, NotFound
from cohortvault.files.models import FileVersion, Node, Upload, path_key
from cohortvault.files.services import (
    Entry,
    add_version,
    area_secrets,
    check_room,
    checked,
    ensure_folders,
    entry_of,
    file_node,
    store_blob,
)
from cohortvault.files.signals import file_stored
from cohortvault.storage import blobs, paths
from cohortvault.storage.keys import secrets_for
from cohortvault.storage.maintenance import backend, forget_blob
from cohortvault.storage.models import Blob

__all__ = [
    "UploadState",
    "abort_upload",
    "append_upload",
    "complete_upload",
    "start_upload",
    "upload_state",
    "write_batch",
]

MAX_BATCH_FILES = 10_000


@dataclass(frozen=True)
class UploadState:
    id: str
    path: str
    offset: int
    expected_size: int | None
    expires_at: datetime


def _state(upload: Upload) -> UploadState:
    return UploadState(
        id=str(upload.id),
        path=f"{upload.area}/{upload.path}",
        offset=upload.blob.size,
        expected_size=upload.expected_size,
        expires_at=upload.expires_at,
    )


def start_upload(principal: Principal, raw_path: str, *, size: int | None = None) -> UploadState:
    area_path = checked(principal, raw_path, Action.WRITE, "upload.start")
    if not area_path.path:
        raise Invalid("Give a file name inside the area.")
    check_room(size)
    key_row, _ = area_secrets(area_path.area)
    with transaction.atomic():
        blob = Blob.objects.create(area_key=key_row, complete=False)
        upload = Upload.objects.create(
            area=area_path.area.path,
            path=area_path.path,
            owner_id=principal.user_id or 0,
            owner=principal.username,
            blob=blob,
            expected_size=size,
            expires_at=timezone.now() + timedelta(hours=settings.COHORTVAULT_UPLOAD_EXPIRY_HOURS),
        )
        record(
            "files.upload.start",
            actor=principal,
            target=area_path.full,
            details={"upload": str(upload.id), "size": size},
        )
    return _state(upload)


def _own_upload(principal: Principal, upload_id: str, *, lock: bool = False) -> Upload:
    try:
        key = uuid.UUID(str(upload_id))
    except ValueError:
        raise NotFound() from None
    uploads = Upload.objects.select_related("blob__area_key")
    if lock:
        uploads = uploads.select_for_update()
    upload = uploads.filter(pk=key, owner_id=principal.user_id or -1).first()
    if upload is None or upload.expires_at <= timezone.now():
        raise NotFound("No such upload (finished, aborted, expired, or someone else's).")
    checked(principal, f"{upload.area}/{upload.path}", Action.WRITE, "upload")
    return upload


def upload_state(principal: Principal, upload_id: str) -> UploadState:
    return _state(_own_upload(principal, upload_id))


def append_upload(
    principal: Principal, upload_id: str, *, offset: int, source: Any, length: int | None
) -> UploadState:
    """Add a chunk at ``offset`` (which must be the current end); a chunk cut short adds nothing,
    so the client simply sends it again from the same offset."""
    upload = _own_upload(principal, upload_id)
    blob = upload.blob
    if offset != blob.size:
        raise Conflict(
            f"The upload is at byte {blob.size}, not {offset}.", details=[{"offset": blob.size}]
        )
    limit = settings.COHORTVAULT_MAX_UPLOAD_SIZE - blob.size
    if upload.expected_size is not None:
        limit = min(limit, upload.expected_size - blob.size)
    if length is not None and length > limit:
        raise blobs.TooLarge(
            f"The chunk is larger than the {limit} bytes the upload may still take."
        )
    check_room(length)
    keys = secrets_for(blob.area_key)
    part = blob.parts
    written = blobs.write_part(
        backend(), keys, blob.id.hex, part, source, limit=limit, expected_size=length
    )
    with transaction.atomic():
        current = Blob.objects.select_for_update().get(pk=blob.pk)
        if current.size != offset or current.parts != part:
            backend().delete_part(blob.id.hex, part)
            raise Conflict(
                "Another chunk arrived first; ask for the upload's offset.",
                details=[{"offset": current.size}],
            )
        current.part_sizes = [*current.part_sizes, written.size]
        current.part_checksums = [*current.part_checksums, written.checksum]
        current.size += written.size
        current.save(update_fields=["part_sizes", "part_checksums", "size"])
        record(
            "files.upload.append",
            actor=principal,
            target=f"{upload.area}/{upload.path}",
            details={"upload": str(upload.id), "offset": offset, "size": written.size},
        )
    upload.blob = current
    return _state(upload)


def complete_upload(principal: Principal, upload_id: str) -> Entry:
    upload = _own_upload(principal, upload_id)
    area_path = paths.parse(f"{upload.area}/{upload.path}")
    with transaction.atomic():
        upload = (
            Upload.objects.select_for_update().select_related("blob__area_key").get(pk=upload.pk)
        )
        blob = upload.blob
        if upload.expected_size is not None and blob.size != upload.expected_size:
            raise Conflict(
                f"Only {blob.size} of {upload.expected_size} bytes have arrived.",
                details=[{"offset": blob.size}],
            )
        keys = secrets_for(blob.area_key)
        blob.checksum = blobs.combine_checksums(keys.mac_key, blob.part_checksums)
        blob.complete = True
        blob.save(update_fields=["checksum", "complete"])
        node = file_node(area_path, principal.username)
        version = add_version(node, blob, principal, note="resumable upload")
        upload.delete()
        record(
            "files.write",
            actor=principal,
            target=area_path.full,
            details={"version": version.pk, "size": blob.size, "upload": str(upload_id)},
        )
    return entry_of(node)


def abort_upload(principal: Principal, upload_id: str) -> None:
    upload = _own_upload(principal, upload_id)
    with transaction.atomic():
        blob = upload.blob
        upload.delete()
        forget_blob(blob)
        record(
            "files.upload.abort",
            actor=principal,
            target=f"{upload.area}/{upload.path}",
            details={"upload": str(upload_id)},
        )


class _Counted(io.RawIOBase):
    """The request body, counted, with a dropped connection turned into ``Incomplete``.

    Read through a ``BufferedReader`` of ``blobs.BLOCK``: tarfile asks for 10 KiB at a time,
    and the server's body reader copies its whole buffered remainder on every such read.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self.stream.read(len(buffer))
        except OSError as exc:
            raise blobs.Incomplete(f"The upload was interrupted: {exc}") from None
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)


def write_batch(
    principal: Principal, raw_folder: str, stream: IO[bytes], *, size: int | None = None
) -> list[Entry]:
    """Store every regular file of a tar stream under a folder, all or nothing.

    Member names are checked like any other path; links, devices and absolute or escaping
    names refuse the whole batch, and so does a stream shorter than its announced ``size``
    (a client that went away between two members). The files are written without a sync each,
    then the disk is synced once and all of them are recorded in one transaction.
    """
    folder = checked(principal, raw_folder, Action.WRITE, "write")
    key_row, keys = area_secrets(folder.area)
    stored: list[tuple[paths.AreaPath, Blob]] = []
    store = backend()
    counted = _Counted(stream)
    body = io.BufferedReader(counted, buffer_size=blobs.BLOCK)
    try:
        try:
            archive = tarfile.open(fileobj=body, mode="r|")  # noqa: SIM115
        except tarfile.TarError as exc:
            raise Invalid(f"Not a tar stream: {exc}") from None
        seen: set[str] = set()
        with archive:
            for member in archive:
                if member.isdir():
                    continue
                if not member.isfile():
                    raise Invalid(f"{member.name!r}: only regular files can be uploaded.")
                if len(stored) >= MAX_BATCH_FILES:
                    raise Invalid(f"At most {MAX_BATCH_FILES} files per batch.")
                target = paths.parse(f"{folder.full}/{member.name}")
                if target.area != folder.area or target.path in seen:
                    raise Invalid(f"{member.name!r} leaves the folder or appears twice.")
                seen.add(target.path)
                check_room(member.size)
                content = archive.extractfile(member)
                assert content is not None
                blob = store_blob(key_row, keys, content, size=member.size, durable=False)
                stored.append((target, blob))
        while body.read(blobs.BLOCK):  # the end of the stream, to check its length
            pass
        if size is not None and counted.count != size:
            raise blobs.Incomplete(
                f"Received {counted.count} of {size} bytes; nothing of the batch was stored."
            )
        store.sync()
        _refuse_locked(principal, folder, [target for target, _ in stored])
        with transaction.atomic():
            entries = _record_batch(principal, folder, stored)
    except tarfile.TarError as exc:
        _discard(stored)
        raise Invalid(f"The tar stream is damaged: {exc}") from None
    except BaseException:
        _discard(stored)
        raise
    return entries


def _refuse_locked(
    principal: Principal, folder: paths.AreaPath, targets: list[paths.AreaPath]
) -> None:
    """A batch may not overwrite a file locked to someone else (checked before recording)."""
    keys = [path_key(folder.area.path, target.path) for target in targets]
    for node in Node.objects.filter(key__in=keys).exclude(locked_to=""):
        area = folder.area.locked(node.locked_to)
        authorize(principal, Action.WRITE, area, conceal=True, target=node.full_path)


def _record_batch(
    principal: Principal, folder: paths.AreaPath, stored: list[tuple[paths.AreaPath, Blob]]
) -> list[Entry]:
    """Rows for a whole batch in a handful of queries: blobs, folders, files, versions, audit."""
    area, actor, now = folder.area.path, principal.username, timezone.now()
    Blob.objects.bulk_create([blob for _, blob in stored])
    for parent in sorted({target.parent for target, _ in stored}):
        ensure_folders(area, parent, actor)
    keys_wanted = [path_key(area, target.path) for target, _ in stored]
    existing = {
        node.key: node for node in Node.objects.select_for_update().filter(key__in=keys_wanted)
    }
    for node in existing.values():
        if node.kind == Node.Kind.FOLDER and node.deleted_at is None:
            raise Conflict(f"{node.full_path} is a folder.")
    fresh = [
        Node(
            area=area, path=target.path, kind=Node.Kind.FILE, updated_by=actor, created_at=now
        ).derive()
        for target, _ in stored
        if path_key(area, target.path) not in existing
    ]
    Node.objects.bulk_create(fresh)
    nodes = {**existing, **{node.key: node for node in Node.objects.filter(key__in=keys_wanted)}}
    FileVersion.objects.filter(
        pk__in=[n.current_id for n in existing.values() if n.current_id], replaced_at__isnull=True
    ).update(replaced_at=now)
    versions = FileVersion.objects.bulk_create(
        [
            FileVersion(node=nodes[key], blob=blob, size=blob.size, checksum=blob.checksum,
                        created_by=actor, created_at=now)
            for key, (_, blob) in zip(keys_wanted, stored, strict=True)
        ]
    )  # fmt: skip
    newest = FileVersion.objects.filter(node=OuterRef("pk")).order_by("-id").values("id")[:1]
    Node.objects.filter(key__in=keys_wanted).update(
        current=Subquery(newest), kind=Node.Kind.FILE, deleted_at=None, deleted_by="",
        updated_at=now, updated_by=actor,
    )  # fmt: skip
    record_many(
        [
            {"action": "files.write", "target": target.full,
             "details": {"version": version.pk, "size": blob.size, "batch": True}}
            for (target, blob), version in zip(stored, versions, strict=True)
        ],
        actor=principal,
    )  # fmt: skip
    refreshed = {
        node.key: node
        for node in Node.objects.select_related("current").filter(key__in=keys_wanted)
    }
    for key, version in zip(keys_wanted, versions, strict=True):
        file_stored.send(Node, node=refreshed[key], version=version, principal=principal)
    return [entry_of(refreshed[key]) for key in keys_wanted]


def _discard(stored: list[tuple[paths.AreaPath, Blob]]) -> None:
    store = backend()
    for _, blob in stored:
        store.delete(blob.id.hex)
