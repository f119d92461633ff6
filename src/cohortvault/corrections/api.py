"""Correction routes: correct a ticket by cell edits or a corrected file, list and read
corrections with their change logs, re-deliver, record consent withdrawals, and the public
error log. Every route calls one service function."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.http import content_disposition_header
from ninja import Router, Schema
from ninja.responses import Status

from cohortvault.access.policy import Action
from cohortvault.access.requirements import requires
from cohortvault.corrections import services
from cohortvault.files.api import content_length

router = Router(tags=["corrections"])


class AffectedOut(Schema):
    project: str
    delivery: int
    cells: int
    rows: int
    variables: list[str]
    latest: bool
    redelivery: int | None
    problem: str
    pending: bool


class CorrectionOut(Schema):
    id: int
    kind: str
    kind_label: str
    ticket: int | None
    withdrawal: int | None
    site: str
    study: str
    old_version: int
    new_version: int
    import_id: int | None
    reason: str
    variables: list[str]
    cells: int
    rows_added: int
    rows_removed: int
    created_by: str
    created_at: datetime
    affected: list[AffectedOut]


class WithdrawalOut(Schema):
    id: int
    site: str
    subject_id: str
    reason: str
    recorded_by: str
    recorded_at: datetime
    erase_after: datetime
    erased_at: datetime | None
    erasure: dict[str, int]
    corrections: list[CorrectionOut]


class ErrorLogOut(Schema):
    ticket: int
    site: str
    dataset: str
    variables: list[str]
    values_corrected: int
    state: str
    reported: str
    fixed: str
    projects_redelivered: list[str]
    projects_awaiting: list[str]


class CellEditIn(Schema):
    subject_id: str
    timepoint: str
    variable: str
    value: str | None = None


class CellsIn(Schema):
    edits: list[CellEditIn]
    reason: str


class WithdrawalIn(Schema):
    site: str
    subject_id: str
    reason: str = ""


class RedeliverIn(Schema):
    project: str | None = None


class ChangeFormat(StrEnum):  # also the error log's
    JSON = "json"
    CSV = "csv"


def _principal(request: HttpRequest) -> Any:
    return request.principal  # type: ignore[attr-defined]


def _affected(info: services.CorrectionInfo) -> dict[str, Any]:
    data = dict(info.__dict__)
    data["affected"] = [{**a.__dict__, "pending": a.pending} for a in info.affected]
    return data


@router.post("/tickets/{number}/corrections/cells", response={201: CorrectionOut})
@requires(action=Action.WRITE, resource="site data area")
def correct_cells(request: HttpRequest, number: int, body: CellsIn) -> Status[dict[str, Any]]:
    """Correct cells of the ticket's dataset (the data manager): a new version tied to the
    ticket; refused with 422 when a value does not pass quality control."""
    edits = [services.CellEdit(**e.dict()) for e in body.edits]
    made = services.correct_cells(_principal(request), number, edits=edits, reason=body.reason)
    return Status(201, _affected(made))


@router.put("/tickets/{number}/corrections/file", response={201: CorrectionOut})
@requires(action=Action.WRITE, resource="site data area")
def correct_with_file(
    request: HttpRequest, number: int, name: str, reason: str
) -> Status[dict[str, Any]]:
    """Correct with the request body as a corrected file named ``name``: stored in the site's
    import area, checked like any import, accepted when it has no errors."""
    made = services.correct_with_file(
        _principal(request),
        number,
        filename=name,
        source=request,
        size=content_length(request),
        reason=reason,
    )
    return Status(201, _affected(made))


@router.get("/corrections", response=list[CorrectionOut])
@requires(action=Action.READ, resource="site data area")
def list_corrections(
    request: HttpRequest, ticket: int | None = None, site: str | None = None
) -> list[dict[str, Any]]:
    found = services.corrections(_principal(request), ticket=ticket, site=site)
    return [_affected(c) for c in found]


@router.get("/corrections/pending", response=list[CorrectionOut])
@requires(action=Action.WRITE, resource="extraction")
def pending(request: HttpRequest) -> list[dict[str, Any]]:
    """Corrections whose affected projects still wait for a corrected delivery."""
    return [_affected(c) for c in services.pending_redeliveries(_principal(request))]


@router.get("/corrections/{number}", response=CorrectionOut)
@requires(action=Action.READ, resource="site data area")
def get_correction(request: HttpRequest, number: int) -> dict[str, Any]:
    return _affected(services.correction(_principal(request), number))


@router.get("/corrections/{number}/changes", response={200: dict[str, Any]})
@requires(action=Action.READ, resource="site data area")
def changes(
    request: HttpRequest, number: int, format: ChangeFormat = ChangeFormat.JSON
) -> HttpResponse:
    """The cell-level change log: every changed cell with its old and new value."""
    found = services.change_log(_principal(request), number)
    if format is ChangeFormat.CSV:
        response = HttpResponse(found.to_csv(), content_type="text/csv; charset=utf-8")
        name = f"correction-{number}-changes.csv"
        response["Content-Disposition"] = content_disposition_header(True, name) or ""
        return response
    return HttpResponse(
        json.dumps(found.to_dict(), default=str, ensure_ascii=False),
        content_type="application/json",
    )


@router.post("/corrections/{number}/redeliver", response=list[dict[str, Any]])
@requires(action=Action.WRITE, resource="extraction")
def redeliver(request: HttpRequest, number: int, body: RedeliverIn) -> list[dict[str, Any]]:
    """Give every waiting project (or one) its corrected delivery (the data manager)."""
    made = services.redeliver(_principal(request), number, project=body.project)
    return [{"project": d.project, "number": d.number, "folder": d.folder} for d in made]


@router.post("/withdrawals", response={201: WithdrawalOut})
@requires(action=Action.WRITE, resource="site data area")
def withdraw(request: HttpRequest, body: WithdrawalIn) -> Status[dict[str, Any]]:
    """Record a consent withdrawal (the data manager): the subject leaves the site's data and
    the projects' deliveries now, and every earlier copy once retention has passed."""
    made = services.withdraw_consent(
        _principal(request), site=body.site, subject_id=body.subject_id, reason=body.reason
    )
    return Status(201, _withdrawal(made))


def _withdrawal(info: services.WithdrawalInfo) -> dict[str, Any]:
    data = dict(info.__dict__)
    data["corrections"] = [_affected(c) for c in info.corrections]
    return data


@router.get("/withdrawals", response=list[WithdrawalOut])
@requires(action=Action.WRITE, resource="site data area")
def list_withdrawals(request: HttpRequest, site: str | None = None) -> list[dict[str, Any]]:
    return [_withdrawal(w) for w in services.withdrawals(_principal(request), site=site)]


@router.get("/withdrawals/{number}", response=WithdrawalOut)
@requires(action=Action.WRITE, resource="site data area")
def get_withdrawal(request: HttpRequest, number: int) -> dict[str, Any]:
    return _withdrawal(services.withdrawal(_principal(request), number))


@router.get("/error-log", response={200: list[ErrorLogOut]})
@requires(action=Action.READ, resource="logs area")
def error_log(request: HttpRequest, format: ChangeFormat = ChangeFormat.JSON) -> Any:
    """The public error log: what was found and fixed, without values or subjects; as JSON,
    or as CSV like the published ``logs/error-log/error-log.csv``."""
    found = services.error_log(_principal(request))
    if format is ChangeFormat.CSV:
        response = HttpResponse(services.as_csv(found), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(True, "error-log.csv") or ""
        return response
    return found
