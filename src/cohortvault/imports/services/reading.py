"""Reading imports and their quality-control reports; every read is audited, and an import the
caller may not see answers like a missing one."""

from __future__ import annotations

from django.db import transaction

from cohortvault import quality
from cohortvault.access.policy import Action, Area, Principal, decide
from cohortvault.audit.trail import record
from cohortvault.errors import Invalid
from cohortvault.imports.models import Import
from cohortvault.imports.services.common import import_row, visible
from cohortvault.imports.services.records import ImportInfo, State, info_of

__all__ = ["for_file_version", "get", "list_imports", "may_decide", "report"]


def list_imports(
    principal: Principal, *, state: str | None = None, site: str | None = None
) -> list[ImportInfo]:
    """Imports the principal may see, newest first (the data manager sees every site's)."""
    if state is not None and state not in State.values and state != "pending":
        raise Invalid(f"Unknown state {state!r}; one of: pending, {', '.join(State.values)}.")
    rows = Import.objects.select_related("site", "study")
    if state == "pending":
        rows = rows.filter(state__in=[State.QUEUED, State.CHECKING, State.CHECKED])
    elif state:
        rows = rows.filter(state=state)
    if site:
        rows = rows.filter(site__code=site)
    found = [info_of(row) for row in rows[:500] if visible(principal, row)]
    with transaction.atomic():
        record("imports.list", actor=principal, details={"state": state, "site": site})
    return found


def for_file_version(principal: Principal, version_id: int | None) -> ImportInfo:
    """The import a stored file version became (a tabular file in an import area)."""
    row = Import.objects.filter(version_id=version_id).first() if version_id else None
    if row is None:
        raise Invalid("The file is not an import: a CSV, TSV, XLSX, SPSS, Stata or R file.")
    return get(principal, row.pk)


def get(principal: Principal, import_id: int) -> ImportInfo:
    row = import_row(principal, import_id, Action.READ)
    return info_of(row)


def report(principal: Principal, import_id: int) -> quality.Report | None:
    """The quality-control report (``None`` while the check has not finished)."""
    row = import_row(principal, import_id, Action.READ)
    with transaction.atomic():
        record("imports.report", actor=principal, target=row.path, details={"import": row.pk})
    return quality.Report.from_json(row.report) if row.report else None


def may_decide(principal: Principal, info: ImportInfo) -> bool:
    """Whether to offer accept and reject; the services decide again when they are used."""
    return decide(principal, Action.APPROVE, Area.site_import(info.site)).allowed
