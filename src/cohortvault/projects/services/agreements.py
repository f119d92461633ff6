"""Transfer agreements of approved projects, one per contributing site: the data manager
records their status and dates and uploads the signed PDF, which is stored encrypted in the
blob store (under the common area's key, but never as a file in any area) and readable only by
administrators and data managers, through this module.

``extraction_blockers`` and ``grant`` are what the extraction calls before it runs.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from cohortvault.access.guard import authorize
from cohortvault.access.policy import Action, Area, Facility, Principal
from cohortvault.audit.trail import record
from cohortvault.consortium.models import Study
from cohortvault.errors import Invalid, NotFound
from cohortvault.files import services as files
from cohortvault.projects.models import AGREEMENT_PURPOSE, Agreement, AgreementDocument, Proposal
from cohortvault.projects.services.common import refuse, text_problems
from cohortvault.storage.maintenance import backend

Status = Agreement.Status
#: The largest signed agreement accepted (scanned PDFs of a few dozen pages fit).
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


def project_proposal(code: str) -> Proposal:
    """The approved proposal that made project ``code``; ``NotFound`` for any other code."""
    proposal = (
        Proposal.objects.select_related("project", "author", "principal_investigator")
        .filter(project__code=code)
        .first()
    )
    if proposal is None:
        raise NotFound(f"No project {code!r} made from an approved proposal.")
    return proposal


def agreement_is_valid(agreement: Agreement, today: date | None = None) -> bool:
    """Signed, and not past its expiry (valid through the expiry day itself)."""
    today = today or timezone.localdate()
    return agreement.status == Status.SIGNED and (
        agreement.expires_on is None or today <= agreement.expires_on
    )


def extraction_blockers(project_code: str, *, today: date | None = None) -> list[str]:
    """One sentence per reason extraction may not run for the project: each contributing site
    without a valid agreement (signed, not expired today), or a closed project. Empty when
    extraction may run. ``NotFound`` when no approved proposal made the project."""
    proposal = project_proposal(project_code)
    day = today or timezone.localdate()
    blockers = []
    project = proposal.project
    if project is not None and project.status != project.Status.ACTIVE:
        blockers.append(f"Project {project_code} is closed.")
    agreements = {a.site.code: a for a in proposal.agreements.select_related("site")}
    for site in sorted(proposal.sites):
        agreement = agreements.get(site)
        if agreement is None:
            blockers.append(f"Site {site} has no transfer agreement on record.")
        elif agreement.status == Status.SIGNED and not agreement_is_valid(agreement, day):
            blockers.append(f"The agreement with site {site} expired on {agreement.expires_on}.")
        elif agreement.status != Status.SIGNED:
            blockers.append(f"The agreement with site {site} is {agreement.status}, not signed.")
    return blockers


@dataclass(frozen=True)
class Grant:
    """What the general assembly granted a project: exactly this may be extracted for it."""

    proposal: int
    project: str
    variables: tuple[str, ...]
    sites: tuple[str, ...]
    studies: tuple[str, ...]
    timepoints: tuple[str, ...]
    #: The (site, study) datasets the grant covers: each requested site's requested studies.
    datasets: tuple[tuple[str, str], ...]
    conditions: str = ""


def grant(project_code: str) -> Grant:
    """The project's grant, from its approved proposal; ``NotFound`` when there is none."""
    proposal = project_proposal(project_code)
    pairs = Study.objects.filter(site__code__in=proposal.sites, code__in=proposal.studies)
    return Grant(
        proposal=proposal.pk,
        project=project_code,
        variables=tuple(proposal.variables),
        sites=tuple(proposal.sites),
        studies=tuple(proposal.studies),
        timepoints=tuple(proposal.timepoints),
        datasets=tuple(sorted(pairs.values_list("site__code", "code"))),
        conditions=proposal.conditions,
    )


def agreements_of(proposal: Proposal) -> list[Agreement]:
    return list(
        proposal.agreements.select_related("site").prefetch_related("documents").order_by("site")
    )


@dataclass(frozen=True)
class AgreementInput:
    status: str
    signed_on: date | None = None
    expires_on: date | None = None
    note: str = ""


def _problems(data: AgreementInput, today: date) -> list[str]:
    problems = []
    if data.status not in Status.values:
        problems.append(f"The status is one of {', '.join(Status.values)}.")
    if data.status == Status.SIGNED and data.signed_on is None:
        problems.append("A signed agreement needs the date it was signed.")
    if data.signed_on is not None and data.signed_on > today:
        problems.append("The signing date lies in the future.")
    if data.signed_on and data.expires_on and data.expires_on < data.signed_on:
        problems.append("The agreement cannot expire before it was signed.")
    if data.status == Status.SIGNED and data.expires_on is not None and data.expires_on < today:
        problems.append("Its expiry has passed: record it as expired.")
    problems += text_problems("The note", data.note, limit=2000, one_line=False)
    return problems


def _agreement(project_code: str, site: str) -> Agreement:
    proposal = project_proposal(project_code)
    agreement = proposal.agreements.select_related("site").filter(site__code=site).first()
    if agreement is None:
        raise NotFound(f"Site {site!r} does not contribute to project {project_code}.")
    return agreement


def record_agreement(
    principal: Principal, project_code: str, site: str, data: AgreementInput
) -> Agreement:
    """Record the status and dates of a site's agreement (the data manager)."""
    target = f"agreement of site {site} for project {project_code}"
    authorize(principal, Action.WRITE, Facility.AGREEMENTS, target=target)
    agreement = _agreement(project_code, site)
    problems = _problems(data, timezone.localdate())
    if problems:
        refuse(
            principal,
            "agreement.record",
            target,
            Invalid("The agreement is not valid.", details=problems),
        )
    with transaction.atomic():
        locked = Agreement.objects.select_for_update().get(pk=agreement.pk)
        before = _dates(locked)
        locked.status = data.status
        locked.signed_on, locked.expires_on = data.signed_on, data.expires_on
        locked.note, locked.updated_by = data.note.strip(), principal.username
        locked.updated_at = timezone.now()
        locked.save()
        record(
            "projects.agreement.record",
            actor=principal,
            target=target,
            details={"before": before, **_dates(locked)},
        )
    return locked


def _dates(agreement: Agreement) -> dict[str, str]:
    return {
        "status": agreement.status,
        "signed_on": str(agreement.signed_on or ""),
        "expires_on": str(agreement.expires_on or ""),
    }


def store_document(
    principal: Principal, project_code: str, site: str, *, filename: str, content: bytes
) -> AgreementDocument:
    """Keep the signed agreement (a PDF of at most 20 MiB), encrypted (the data manager)."""
    target = f"agreement of site {site} for project {project_code}"
    authorize(principal, Action.WRITE, Facility.AGREEMENTS, target=target)
    agreement = _agreement(project_code, site)
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip() or "agreement.pdf"
    problems = []
    if len(content) > MAX_DOCUMENT_BYTES:
        problems.append(f"A signed agreement is at most {MAX_DOCUMENT_BYTES // 2**20} MiB.")
    if not content.startswith(b"%PDF-"):
        problems.append("The signed agreement must be a PDF file.")
    problems += text_problems("The file name", name, limit=255, one_line=True)
    if problems:
        invalid = Invalid("The document was not stored.", details=problems)
        refuse(principal, "agreement.document", target, invalid)
    files.check_room(len(content))
    key_row, keys = files.area_secrets(Area.logs())
    blob = files.store_blob(key_row, keys, io.BytesIO(content), size=len(content))
    blob.purpose = AGREEMENT_PURPOSE
    try:
        with transaction.atomic():
            blob.save(force_insert=True)
            document = AgreementDocument.objects.create(
                agreement=agreement,
                blob=blob,
                filename=name,
                size=blob.size,
                uploaded_by=principal.username,
            )
            record(
                "projects.agreement.document",
                actor=principal,
                target=target,
                details={"document": document.pk, "filename": name, "size": blob.size},
            )
    except BaseException:
        backend().delete(blob.id.hex)
        raise
    return document


@dataclass(frozen=True)
class DocumentDownload:
    filename: str
    size: int
    uploaded_at: datetime
    chunks: Iterator[bytes]


def read_document(
    principal: Principal, project_code: str, site: str, document_id: int | None = None
) -> DocumentDownload:
    """A signed agreement's PDF, decrypted (administrators and data managers only); the
    latest one without ``document_id``."""
    target = f"agreement of site {site} for project {project_code}"
    authorize(principal, Action.READ, Facility.AGREEMENTS, target=target)
    agreement = _agreement(project_code, site)
    documents = agreement.documents.select_related("blob__area_key")
    document = (documents.filter(pk=document_id) if document_id else documents).first()
    if document is None:
        raise NotFound("No signed document has been uploaded for this agreement.")
    with transaction.atomic():
        record(
            "projects.agreement.document.read",
            actor=principal,
            target=target,
            details={"document": document.pk},
        )
    return DocumentDownload(
        filename=document.filename,
        size=document.size,
        uploaded_at=document.uploaded_at,
        chunks=files.blob_chunks(document.blob),
    )
