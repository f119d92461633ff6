"""What every door of the file service shares: the records it returns, and the checks each
request goes through (parse the path, ask the policy, find the node, audit the call)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from cohortvault.access.guard import authorize
from cohortvault.access.policy import Action, Area, AreaKind, Principal, decide
from cohortvault.audit.trail import Outcome, record
from cohortvault.consortium.models import Project, Site
from cohortvault.errors import Invalid, NotFound
from cohortvault.files.models import Node, path_key
from cohortvault.storage import paths


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
    area = area_path.area.sealing() if is_sealed(area_path) else area_path.area
    conceal = not decide(principal, Action.READ, area).allowed
    authorize(principal, action, area, conceal=conceal, target=area_path.full)
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
    locked_to = _locked_to(area_path)
    if locked_to:
        area = area_path.area.locked(locked_to)
        authorize(principal, action, area, conceal=True, target=area_path.full)
    return area_path


#: The folder of a project area that holds the data manager's deliveries, sealed by the policy.
DELIVERIES = "deliveries"


def is_sealed(area_path: paths.AreaPath) -> bool:
    path = area_path.path
    return area_path.area.kind is AreaKind.PROJECT and (
        path == DELIVERIES or path.startswith(DELIVERIES + "/")
    )


def _locked_to(area_path: paths.AreaPath) -> str:
    if not area_path.path:
        return ""
    found = Node.objects.filter(key=path_key(area_path.area.path, area_path.path)).values_list(
        "locked_to", flat=True
    )
    return next(iter(found), "")


def visible(principal: Principal, area: Area, node: Node) -> bool:
    """Whether a listing may show ``node``: a locked file only to its uploader and the DM."""
    return not node.locked_to or decide(principal, Action.READ, area.locked(node.locked_to)).allowed


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
