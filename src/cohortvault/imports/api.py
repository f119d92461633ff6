"""Import routes: the list (the data manager's queue with ``?state=pending``), one import, its
quality-control report as JSON or CSV, and the data manager's accept and reject. Files get into
an import area through the file routes; every route here calls one service function."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.http import content_disposition_header
from ninja import Router, Schema

from cohortvault.access.policy import Action
from cohortvault.access.requirements import requires
from cohortvault.errors import Conflict
from cohortvault.imports import services

router = Router(tags=["imports"])


class ImportOut(Schema):
    id: int
    site: str
    study: str
    path: str
    filename: str
    size: int
    uploaded_by: str
    uploaded_at: datetime
    state: str
    errors: int
    warnings: int
    personal_data: bool
    dictionary_version: int | None
    checked_at: datetime | None
    decided_by: str
    decided_at: datetime | None
    reason: str
    dataset_version: int | None
    acceptable: bool


class DecisionIn(Schema):
    reason: str = ""


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


def _principal(request: HttpRequest) -> Any:
    return request.principal  # type: ignore[attr-defined]


@router.get("", response=list[ImportOut])
@requires(action=Action.READ, resource="site import area")
def list_imports(
    request: HttpRequest, state: str | None = None, site: str | None = None
) -> list[services.ImportInfo]:
    """Imports you may see, newest first; ``state=pending`` is the data manager's queue."""
    return services.list_imports(_principal(request), state=state, site=site)


@router.get("/{import_id}", response=ImportOut)
@requires(action=Action.READ, resource="site import area")
def get_import(request: HttpRequest, import_id: int) -> services.ImportInfo:
    return services.get(_principal(request), import_id)


@router.get("/{import_id}/report", response={200: dict[str, Any]})
@requires(action=Action.READ, resource="site import area")
def report(
    request: HttpRequest, import_id: int, format: ReportFormat = ReportFormat.JSON
) -> HttpResponse:
    """The quality-control report: JSON (everything) or CSV (the findings, one per line).
    Answers 409 while the check has not finished."""
    found = services.report(_principal(request), import_id)
    if found is None:
        raise Conflict(f"Import {import_id} has not been checked yet; try again in a moment.")
    if format is ReportFormat.CSV:
        response = HttpResponse(found.to_csv(), content_type="text/csv; charset=utf-8")
        name = f"import-{import_id}-report.csv"
        response["Content-Disposition"] = content_disposition_header(True, name) or ""
        return response
    return HttpResponse(found.to_json(), content_type="application/json")


@router.post("/{import_id}/accept", response=ImportOut)
@requires(action=Action.APPROVE, resource="site import area")
def accept(request: HttpRequest, import_id: int, decision: DecisionIn) -> services.ImportInfo:
    """Make the import the site's next dataset version (the data manager only; no errors;
    a reason when there are warnings)."""
    return services.accept(_principal(request), import_id, reason=decision.reason)


@router.post("/{import_id}/reject", response=ImportOut)
@requires(action=Action.APPROVE, resource="site import area")
def reject(request: HttpRequest, import_id: int, decision: DecisionIn) -> services.ImportInfo:
    """Refuse the import with a reason the uploader is told (the data manager only)."""
    return services.reject(_principal(request), import_id, reason=decision.reason)
