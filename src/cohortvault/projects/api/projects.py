"""Project routes under ``/projects/{code}``: the project with what blocks its extraction, its
transfer agreements, their signed documents, and closing it. Every route calls one service
function."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from django.http import HttpRequest, StreamingHttpResponse
from django.utils.http import content_disposition_header
from ninja import Schema
from ninja.responses import Status
from pydantic import Field

from cohortvault.access.policy import Action
from cohortvault.access.requirements import requires
from cohortvault.errors import Invalid
from cohortvault.projects import services
from cohortvault.projects.api.common import principal, router
from cohortvault.projects.models import Agreement, AgreementDocument


class DocumentOut(Schema):
    id: int
    filename: str
    size: int
    uploaded_by: str
    uploaded_at: datetime


class AgreementOut(Schema):
    site: str
    status: str
    signed_on: date | None
    expires_on: date | None
    valid: bool
    note: str
    updated_by: str
    updated_at: datetime
    documents: list[DocumentOut]


def document_out(document: AgreementDocument) -> dict[str, Any]:
    names = ("id", "filename", "size", "uploaded_by", "uploaded_at")
    return {name: getattr(document, name) for name in names}


def agreement_out(agreement: Agreement, valid: bool) -> dict[str, Any]:
    names = ("status", "signed_on", "expires_on", "note", "updated_by", "updated_at")
    return {
        **{name: getattr(agreement, name) for name in names},
        "site": agreement.site.code,
        "valid": valid,
        "documents": [document_out(d) for d in agreement.documents.all()],
    }


class ProjectOut(Schema):
    code: str
    title: str
    status: str
    proposal: int
    blockers: list[str]
    agreements: list[AgreementOut]


@router.get("/projects/{code}", response=ProjectOut)
@requires(action=Action.READ, resource="project")
def get_project(request: HttpRequest, code: str) -> dict[str, Any]:
    """A project made from a proposal: its agreements and what blocks extraction."""
    return project_out(services.project_detail(principal(request), code))


def project_out(detail: services.ProjectDetail) -> dict[str, Any]:
    project = detail.proposal.project
    assert project is not None
    return {
        "code": project.code,
        "title": project.title,
        "status": project.status,
        "proposal": detail.proposal.pk,
        "blockers": detail.blockers,
        "agreements": [agreement_out(row.agreement, row.valid) for row in detail.agreements],
    }


@router.get("/projects/{code}/agreements", response=list[AgreementOut])
@requires(action=Action.READ, resource="project")
def list_agreements(request: HttpRequest, code: str) -> list[dict[str, Any]]:
    detail = services.project_detail(principal(request), code)
    return [agreement_out(row.agreement, row.valid) for row in detail.agreements]


class AgreementIn(Schema):
    status: Agreement.Status
    signed_on: date | None = None
    expires_on: date | None = None
    note: Annotated[str, Field(max_length=2000)] = ""


@router.post("/projects/{code}/agreements/{site}", response=AgreementOut)
@requires(action=Action.WRITE, resource="agreements")
def record_agreement(request: HttpRequest, code: str, site: str, payload: AgreementIn) -> Any:
    """Record a site's agreement: status and dates (the data manager)."""
    data = services.AgreementInput(**payload.dict())
    agreement = services.record_agreement(principal(request), code, site, data)
    return agreement_out(agreement, services.agreement_is_valid(agreement))


@router.put("/projects/{code}/agreements/{site}/document", response={201: DocumentOut})
@requires(action=Action.WRITE, resource="agreements")
def upload_document(
    request: HttpRequest, code: str, site: str, filename: str = "agreement.pdf"
) -> Status[dict[str, Any]]:
    """Store the signed agreement: the request body is the PDF (at most 20 MiB)."""
    raw = request.META.get("CONTENT_LENGTH") or ""
    if not (raw.isascii() and raw.isdigit()):
        raise Invalid("Send the PDF as the body, with a Content-Length header.")
    if int(raw) > services.MAX_DOCUMENT_BYTES:
        raise Invalid(f"A signed agreement is at most {services.MAX_DOCUMENT_BYTES // 2**20} MiB.")
    content = request.read(services.MAX_DOCUMENT_BYTES + 1)
    document = services.store_document(
        principal(request), code, site, filename=filename, content=content
    )
    return Status(201, document_out(document))


@router.get("/projects/{code}/agreements/{site}/document")
@requires(action=Action.READ, resource="agreements")
def download_document(
    request: HttpRequest, code: str, site: str, document: int | None = None
) -> StreamingHttpResponse:
    """The signed agreement as a PDF (administrators and data managers only)."""
    found = services.read_document(principal(request), code, site, document)
    response = StreamingHttpResponse(found.chunks, content_type="application/pdf")
    response["Content-Length"] = str(found.size)
    response["Content-Disposition"] = content_disposition_header(True, found.filename) or ""
    return response


class CloseIn(Schema):
    reason: Annotated[str, Field(max_length=2000)]


@router.post("/projects/{code}/close", response=ProjectOut)
@requires(action=Action.ADMINISTER, resource="consortium")
def close_project(request: HttpRequest, code: str, payload: CloseIn) -> dict[str, Any]:
    """Close a project now (the administrator); its members lose its area."""
    services.close_project(principal(request), code, reason=payload.reason)
    return project_out(services.project_detail(principal(request), code))
