"""Stage one, first half: a tabular file stored in ``sites/<site>/import/`` by any front door
becomes an import, and deleting it withdraws the import. Both run inside the file service's
transaction (through its signals), so a file and its import never disagree."""

from __future__ import annotations

from pathlib import PurePosixPath

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cohortvault.access.policy import Principal
from cohortvault.audit.trail import record
from cohortvault.consortium.models import Site, Study
from cohortvault.files.models import FileVersion, Node
from cohortvault.imports.models import Import
from cohortvault.imports.services.checking import check
from cohortvault.imports.services.records import State

__all__ = ["TABULAR", "is_import", "register", "withdraw"]

#: File names quality control reads; anything else in an import area is just a file.
TABULAR = frozenset(
    {".csv", ".tsv", ".tab", ".psv", ".xlsx", ".xlsm", ".sav", ".zsav", ".dta", ".rds"}
)


def is_import(node: Node) -> bool:
    parts = node.area.split("/")
    is_area = len(parts) == 3 and parts[0] == "sites" and parts[2] == "import"
    return is_area and PurePosixPath(node.name).suffix.lower() in TABULAR


def register(node: Node, version: FileVersion, principal: Principal) -> Import | None:
    """Record a newly stored tabular file of an import area (inside the storing transaction)."""
    if not is_import(node):
        return None
    site = Site.objects.filter(code=node.area.split("/")[1]).first()
    if site is None:
        return None
    row = Import.objects.create(
        site=site,
        study=_study_of(site, node.path),
        path=node.full_path,
        filename=node.name,
        version=version,
        size=version.size,
        uploaded_by=principal.username,
    )
    record(
        "imports.register",
        actor=principal,
        target=row.path,
        details={"import": row.pk, "version": version.pk},
    )
    if settings.COHORTVAULT_QUALITY_CHECK_INTERVAL == 0:
        transaction.on_commit(lambda: check(row.pk))
    return row


def _study_of(site: Site, path: str) -> Study | None:
    """The study is the first folder of the path, or the site's only study."""
    studies = list(site.studies.all())
    first = path.split("/", 1)[0] if "/" in path else ""
    named = [s for s in studies if s.code == first]
    if named:
        return named[0]
    return studies[0] if len(studies) == 1 else None


def withdraw(node_ids: list[int], principal: Principal) -> int:
    """Withdraw the undecided imports of deleted files (inside the deleting transaction)."""
    undecided = [State.QUEUED, State.CHECKING, State.CHECKED]
    rows = list(Import.objects.filter(version__node_id__in=node_ids, state__in=undecided))
    for row in rows:
        row.state, row.decided_by, row.decided_at = (
            State.WITHDRAWN,
            principal.username,
            timezone.now(),
        )
        row.reason = f"{row.filename} was deleted by {principal.username} before a decision."
        row.save(update_fields=["state", "decided_by", "decided_at", "reason"])
        record("imports.withdraw", actor=principal, target=row.path, details={"import": row.pk})
    return len(rows)
