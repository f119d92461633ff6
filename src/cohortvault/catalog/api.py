"""Dictionary routes: the current Table Schema, versions in every format, the difference between
two versions, and importing a new version (the data manager). Every route calls one service
function."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.http import content_disposition_header
from ninja import Router, Schema
from ninja.responses import Status

from cohortvault.access.policy import Action
from cohortvault.access.requirements import requires
from cohortvault.catalog import services
from cohortvault.catalog.formats import Format
from cohortvault.errors import Invalid

router = Router(tags=["dictionary"])

#: What a Content-Type says about the body, when ``?format=`` is not given.
MEDIA_TYPES = {
    "application/json": Format.JSON,
    "text/csv": Format.CSV,
    Format.XLSX.media_type: Format.XLSX,
}


class VersionOut(Schema):
    number: int
    created_by: str
    created_at: datetime
    note: str
    checksum: str
    variables: int
    warnings: list[str] = []


class PropertyOut(Schema):
    property: str
    old: Any
    new: Any


class ChangeOut(Schema):
    name: str
    properties: list[PropertyOut]


class DiffOut(Schema):
    old: int
    new: int
    added: list[str]
    removed: list[str]
    reordered: bool
    changed: list[ChangeOut]


def _principal(request: HttpRequest) -> Any:
    return request.principal  # type: ignore[attr-defined]


def _version_out(info: services.VersionInfo) -> VersionOut:
    return VersionOut(**{**info.__dict__, "warnings": list(info.warnings)})


@router.get("", response=dict[str, Any])
@requires(action=Action.READ, resource="data dictionary")
def current(request: HttpRequest) -> dict[str, Any]:
    """The current dictionary as a Frictionless Table Schema (with the ``cohortvault``
    properties of each field)."""
    return services.current(_principal(request)).to_table_schema()


@router.get("/versions", response=list[VersionOut])
@requires(action=Action.READ, resource="data dictionary")
def versions(request: HttpRequest) -> list[VersionOut]:
    """Every version, newest first."""
    return [_version_out(info) for info in services.versions(_principal(request))]


@router.get("/versions/{number}", response={200: dict[str, Any]})
@requires(action=Action.READ, resource="data dictionary")
def version(request: HttpRequest, number: int, format: Format = Format.JSON) -> HttpResponse:
    """One version as JSON Table Schema, or as a CSV or XLSX file (an attachment)."""
    data = services.export_dictionary(number, format, principal=_principal(request))
    response = HttpResponse(data, content_type=format.media_type)
    if format is not Format.JSON:
        name = f"data-dictionary-v{number}.{format.value}"
        response["Content-Disposition"] = content_disposition_header(True, name) or ""
    return response


@router.get("/diff", response=DiffOut)
@requires(action=Action.READ, resource="data dictionary")
def diff(request: HttpRequest, a: int, b: int) -> dict[str, Any]:
    """What changed from version ``a`` to version ``b``."""
    return services.diff(a, b, principal=_principal(request)).as_dict()


@router.post(
    "",
    response={201: VersionOut},
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The dictionary file (at most 4 MiB).",
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}} for media in MEDIA_TYPES
            },
        }
    },
)
@requires(action=Action.WRITE, resource="data dictionary")
def import_dictionary(
    request: HttpRequest, format: Format | None = None, note: str = ""
) -> Status[VersionOut]:
    """Import the request body as the next version (the data manager only). Give the format
    with ``?format=json|csv|xlsx`` or the body's Content-Type. A dictionary with problems
    answers 422 with one ``details`` entry per problem, and nothing is stored."""
    chosen = format or MEDIA_TYPES.get(request.content_type or "")
    if chosen is None:
        raise Invalid("Say which format the body is in: ?format=json, csv or xlsx.")
    raw = request.META.get("CONTENT_LENGTH") or ""
    if raw.isdigit() and int(raw) > services.MAX_DICTIONARY_BYTES:
        raise Invalid(f"A dictionary file is at most {services.MAX_DICTIONARY_BYTES} bytes.")
    data = request.read(services.MAX_DICTIONARY_BYTES + 1)
    created = services.import_dictionary(_principal(request), data, format=chosen, note=note)
    return Status(201, _version_out(created))
