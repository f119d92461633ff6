"""Dataset routes: the datasets one may read, a dataset's versions, one version, its export
(streamed) and the cell-level difference between two versions. Every route calls one service
function."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.utils.http import content_disposition_header
from ninja import Router, Schema

from cohortvault.access.policy import Action
from cohortvault.access.requirements import requires
from cohortvault.datasets import services
from cohortvault.datasets.formats import ExportFormat

router = Router(tags=["datasets"])
RESOURCE = "site dataset"


class DiffFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


class VersionOut(Schema):
    site: str
    study: str
    number: int
    rows: int
    columns: int
    column_names: list[str]
    dictionary_version: int | None
    import_id: int | None
    reason: str
    source: str
    created_by: str
    created_at: datetime
    checksum: str
    size: int


class DatasetOut(Schema):
    site: str
    study: str
    name: str
    versions: int
    latest: VersionOut


class KeyOut(Schema):
    subject_id: str
    timepoint: str


class ChangeOut(Schema):
    subject_id: str
    timepoint: str
    column: str
    old: str | None
    new: str | None


class RetypedOut(Schema):
    column: str
    old: str
    new: str


class DiffOut(Schema):
    site: str
    study: str
    old: int
    new: int
    summary: str
    totals: dict[str, int]
    columns_added: list[str]
    columns_removed: list[str]
    columns_retyped: list[RetypedOut]
    rows_added: list[KeyOut]
    rows_removed: list[KeyOut]
    changes: list[ChangeOut]
    truncated: bool


def _principal(request: HttpRequest) -> Any:
    return request.principal  # type: ignore[attr-defined]


def _version_out(info: services.VersionInfo) -> VersionOut:
    return VersionOut(**{**info.__dict__, "column_names": list(info.column_names)})


def attachment(name: str) -> str:
    return content_disposition_header(True, name) or ""


def export_response(export: services.Export) -> StreamingHttpResponse:
    response = StreamingHttpResponse(export.chunks, content_type=export.media_type)
    if export.size is not None:
        response["Content-Length"] = str(export.size)
    response["Content-Disposition"] = attachment(export.filename)
    response["Cache-Control"] = "no-store"
    return response


def diff_response(found: services.Diff, format: DiffFormat) -> HttpResponseBase:
    name = f"{found.site}-{found.study}-v{found.old}-v{found.new}-diff.{format.value}"
    response: HttpResponseBase
    if format is DiffFormat.CSV:
        response = StreamingHttpResponse(found.csv_chunks(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = attachment(name)
    else:
        response = HttpResponse(found.to_json(), content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


@router.get("", response=list[DatasetOut])
@requires(action=Action.READ, resource=RESOURCE)
def datasets(request: HttpRequest) -> list[DatasetOut]:
    """The datasets you may read (your sites'; every site's for the data manager), each with
    its latest version."""
    return [
        DatasetOut(**{**d.__dict__, "latest": _version_out(d.latest)})
        for d in services.datasets(_principal(request))
    ]


@router.get("/{site}/{study}/versions", response=list[VersionOut])
@requires(action=Action.READ, resource=RESOURCE)
def versions(request: HttpRequest, site: str, study: str) -> list[VersionOut]:
    """Every version of a dataset, newest first."""
    return [_version_out(v) for v in services.log(_principal(request), site, study)]


@router.get("/{site}/{study}/versions/{number}", response=VersionOut)
@requires(action=Action.READ, resource=RESOURCE)
def version(request: HttpRequest, site: str, study: str, number: int) -> VersionOut:
    """What one version holds, who made it, when, from which import and why."""
    return _version_out(services.version_info(_principal(request), site, study, number))


@router.get(
    "/{site}/{study}/versions/{number}/export",
    response={200: None},
    openapi_extra={
        "responses": {
            "200": {
                "description": "The version as a file (an attachment, streamed).",
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    ExportFormat.PARQUET.media_type: {
                        "schema": {"type": "string", "format": "binary"}
                    },
                },
            }
        }
    },
)
@requires(action=Action.READ, resource=RESOURCE)
def export(
    request: HttpRequest,
    site: str,
    study: str,
    number: int,
    format: ExportFormat = ExportFormat.CSV,
) -> StreamingHttpResponse:
    """Download a version: spreadsheet-safe CSV, or the stored Parquet file (zstd, with the
    Table Schema of its columns in the file's metadata)."""
    found = services.export(_principal(request), site, study, number, format=format)
    return export_response(found)


@router.get("/{site}/{study}/diff", response={200: DiffOut})
@requires(action=Action.READ, resource=RESOURCE)
def diff(
    request: HttpRequest,
    site: str,
    study: str,
    old: int,
    new: int,
    format: DiffFormat = DiffFormat.JSON,
) -> HttpResponseBase:
    """Every change from version ``old`` to version ``new``: columns and rows added and
    removed, and each changed cell (as JSON, or as CSV with one line per change)."""
    return diff_response(services.diff(_principal(request), site, study, old, new), format)
