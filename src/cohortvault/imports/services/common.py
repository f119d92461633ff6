"""Who may see which import, shared by the reading and the deciding doors: an import with
personal data is reachable only by its uploader and the data manager, like its file."""

from __future__ import annotations

from cohortvault.access.guard import authorize
from cohortvault.access.policy import Action, Area, Principal, decide
from cohortvault.errors import NotFound
from cohortvault.imports.models import Import

__all__ = ["import_row", "visible"]


def _area(row: Import) -> Area:
    area = Area.site_import(row.site.code)
    return area.locked(row.uploaded_by) if row.personal_data else area


def visible(principal: Principal, row: Import) -> bool:
    return decide(principal, Action.READ, _area(row)).allowed


def import_row(principal: Principal, import_id: int, action: Action) -> Import:
    """The import if the principal may ``action`` it; one they may not even read is missing."""
    row = Import.objects.select_related("site", "study").filter(pk=import_id).first()
    if row is None:
        raise NotFound(f"There is no import {import_id}.")
    conceal = not visible(principal, row)
    authorize(principal, action, _area(row), conceal=conceal, target=f"import {import_id}")
    return row
