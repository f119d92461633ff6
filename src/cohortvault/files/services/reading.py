"""Reading: a path's entry, a folder's listing, a file's content (or an earlier version of it)."""

from __future__ import annotations

from collections.abc import Iterator

from cohortvault.access.policy import Action, Principal
from cohortvault.errors import Invalid, NotFound
from cohortvault.files.models import Node, path_key
from cohortvault.files.services.common import (
    Download,
    Entry,
    Listing,
    _audit,
    _require_node,
    _root_entry,
    checked,
    entry_of,
    visible,
)
from cohortvault.files.services.history import _retained_versions
from cohortvault.storage import blobs, paths
from cohortvault.storage.keys import secrets_for
from cohortvault.storage.maintenance import backend
from cohortvault.storage.models import Blob


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
    area = area_path.area
    entries = [entry_of(node) for node in children if visible(principal, area, node)]
    _audit(principal, "list", area_path, entries=len(entries))
    return Listing(folder=folder, entries=entries, area=area_path.area)


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
