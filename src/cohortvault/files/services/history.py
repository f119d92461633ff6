"""Versions and restore: what the retention period keeps, and bringing it back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from cohortvault.access.policy import Action, Principal
from cohortvault.audit.trail import record
from cohortvault.errors import Conflict, Invalid, NotFound, PermissionDenied
from cohortvault.files.models import FileVersion, Node, path_key
from cohortvault.files.services.common import (
    Entry,
    VersionInfo,
    _audit,
    checked,
    entry_of,
    visible,
)
from cohortvault.files.services.writing import _subtree, add_version, ensure_folders
from cohortvault.storage import paths
from cohortvault.storage.maintenance import forget_blob


def retention() -> timedelta:
    return timedelta(days=settings.COHORTVAULT_RETENTION_DAYS)


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
    area = area_path.area
    nodes = [n for n in scope.order_by("-deleted_at", "path") if visible(principal, area, n)]
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


def erase_version(principal: Principal, version_id: int, *, reason: str) -> str:
    """Erase one stored content now, before its retention ends: the erasure of a withdrawn
    participant's data (the system only). Erasing a file's current content erases the whole
    file with all its versions, since what remains would be a file without content. Returns
    the path of the file."""
    if not principal.is_system:
        raise PermissionDenied("Only the platform erases stored content before retention ends.")
    with transaction.atomic():
        version = FileVersion.objects.select_related("node", "blob").filter(pk=version_id).first()
        if version is None:
            raise NotFound()
        node = version.node
        whole = node.current_id == version.pk
        doomed = list(node.versions.select_related("blob")) if whole else [version]
        if whole:
            Node.objects.filter(pk=node.pk).update(current=None)
        for item in doomed:
            blob = item.blob
            item.delete()
            if not blob.versions.exists():
                forget_blob(blob)
        if whole:
            node.delete()
        record(
            "files.erase",
            actor=principal,
            target=node.full_path,
            reason=reason,
            details={"versions": len(doomed), "whole_file": whole},
        )
    return node.full_path
