"""Delivery routes: list and read a project's deliveries, compare two, and run an extraction
(the data manager). Every route calls one service function."""

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
from cohortvault.deliveries import services

router = Router(tags=["deliveries"])


class DeliveryOut(Schema):
    project: str
    number: int
    folder: str
    rows: int
    columns: int
    files: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    created_by: str
    created_at: datetime
    note: str
    spec: dict[str, Any]


class ExtractionIn(Schema):
    layout: str = "long"
    transforms: list[dict[str, Any]] = []
    versions: dict[str, int] = {}
    note: str = ""


class DiffFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


def _principal(request: HttpRequest) -> Any:
    return request.principal  # type: ignore[attr-defined]


@router.get("/projects/{code}/deliveries", response=list[DeliveryOut])
@requires(action=Action.LIST, resource="project area")
def list_deliveries(request: HttpRequest, code: str) -> list[services.DeliveryInfo]:
    """The project's deliveries, newest first (its members and the data manager)."""
    return services.deliveries(_principal(request), code)


@router.post("/projects/{code}/deliveries", response={201: DeliveryOut})
@requires(action=Action.WRITE, resource="extraction")
def run_extraction(
    request: HttpRequest, code: str, body: ExtractionIn
) -> Status[services.DeliveryInfo]:
    """Extract the granted variables into the next delivery (the data manager only). Refused
    with 409 and one ``details`` line per site while agreements are missing."""
    info = services.run_extraction(
        _principal(request),
        code,
        transforms=services.parse_transforms(body.transforms),
        layout=body.layout,
        versions=body.versions,
        note=body.note,
    )
    return Status(201, info)


@router.get("/projects/{code}/deliveries/diff", response={200: dict[str, Any]})
@requires(action=Action.READ, resource="project area")
def diff(
    request: HttpRequest, code: str, old: int, new: int, format: DiffFormat = DiffFormat.JSON
) -> HttpResponse:
    """Cell-level differences between two deliveries, as JSON or CSV."""
    found = services.diff(_principal(request), code, old, new)
    if format is DiffFormat.CSV:
        response = HttpResponse(found.to_csv(), content_type="text/csv; charset=utf-8")
        name = f"{code}-deliveries-{old}-{new}.csv"
        response["Content-Disposition"] = content_disposition_header(True, name) or ""
        return response
    return HttpResponse(_json(found.to_dict()), content_type="application/json")


def _json(data: Any) -> str:
    return json.dumps(data, default=str, ensure_ascii=False)


@router.get("/projects/{code}/deliveries/{number}", response=DeliveryOut)
@requires(action=Action.READ, resource="project area")
def get_delivery(request: HttpRequest, code: str, number: int) -> services.DeliveryInfo:
    return services.delivery(_principal(request), code, number)
