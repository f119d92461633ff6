"""Stage one, second half: quality control of queued imports, run by the checker process (or at
once after upload), which must keep the queue going whatever a file holds."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Protocol

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from cohortvault import quality
from cohortvault.access.policy import Principal, Role
from cohortvault.audit.trail import record
from cohortvault.catalog import services as catalog
from cohortvault.datasets import services as datasets
from cohortvault.errors import NotFound
from cohortvault.files.services import lock_file
from cohortvault.governance.notify import notify, notify_role
from cohortvault.imports import content
from cohortvault.imports.models import Import
from cohortvault.imports.services.records import ImportInfo, State, info_of

__all__ = [
    "WithdrawnSubjects",
    "check",
    "check_queued",
    "register_withdrawn_subjects",
    "requeue_stale",
    "withdrawn_subjects",
]

logger = logging.getLogger(__name__)


class WithdrawnSubjects(Protocol):
    def __call__(self, site: str) -> list[str]:
        """The subject_ids of the site whose participants withdrew their consent."""


_withdrawn_sources: list[WithdrawnSubjects] = []


def register_withdrawn_subjects(source: WithdrawnSubjects) -> None:
    """Let quality control refuse rows of subjects who withdrew (``corrections`` registers
    its register of withdrawals at start-up)."""
    if source not in _withdrawn_sources:
        _withdrawn_sources.append(source)


def withdrawn_subjects(site: str) -> list[str]:
    return [subject for source in _withdrawn_sources for subject in source(site)]


def check(import_id: int) -> ImportInfo | None:
    """Run quality control on one queued import, as the system; never raises for bad input."""
    with transaction.atomic():
        row = Import.objects.select_for_update().filter(pk=import_id, state=State.QUEUED).first()
        if row is None:
            return None
        row.state = State.CHECKING
        row.save(update_fields=["state"])
    try:
        report = _report(row)
    except Exception as exc:  # a defect of ours, not of the file: report it, keep the queue going
        logger.exception("quality control of import %s failed", import_id)
        report = _failed(row, exc)
    return _store_report(row, report)


def _report(row: Import) -> quality.Report:
    site, study = row.site.code, row.study.code if row.study else None
    try:
        dictionary = catalog.current()
    except NotFound:
        return _failed(row, None, "No data dictionary has been imported yet.")
    if row.version is None:
        return _failed(row, None, "The stored file is gone (deleted and purged).")
    table = content.read_table(
        row.version, row.filename, study=study, numbers=quality.numbers_of(dictionary)
    )
    timepoints = None
    subjects = None
    if row.study is not None:
        timepoints = list(row.study.timepoints.values_list("code", flat=True)) or None
        subjects = datasets.subjects(site, row.study.code) or None
    report = quality.check(
        table,
        dictionary,
        site=site,
        known_subjects=subjects,
        known_timepoints=timepoints,
        withdrawn_subjects=withdrawn_subjects(site),
    )
    if row.study is None:
        names = ", ".join(row.site.studies.values_list("code", flat=True)) or "none yet"
        study_error = quality.Finding(
            "error",
            "import.study",
            None,
            0,
            "",
            f"Put the file in a folder named after its study (the site's studies: {names}).",
        )
        report = _with(report, [study_error, *report.findings])
    return report


def _with(report: quality.Report, findings: list[quality.Finding]) -> quality.Report:
    return quality.Report(
        findings,
        report.columns,
        report.missingness,
        report.detected,
        report.site,
        report.dictionary_version,
        report.seconds,
    )


def _failed(row: Import, exc: Exception | None, message: str = "") -> quality.Report:
    text = message or f"Quality control could not finish ({type(exc).__name__}); tell the team."
    finding = quality.Finding("error", "import.failed", None, 0, "", text)
    return quality.Report([finding], [], quality.Missingness(), quality.Detected("unknown"))


def _store_report(checked: Import, report: quality.Report) -> ImportInfo:
    with transaction.atomic():
        row = (
            Import.objects.select_for_update(of=("self",))
            .select_related("site", "study")
            .get(pk=checked.pk)
        )
        row.report = report.to_json(indent=None)
        row.errors, row.warnings = len(report.errors), len(report.warnings)
        row.personal_data = report.personal_data
        row.dictionary_version = report.dictionary_version
        row.checked_at = timezone.now()
        if row.state == State.CHECKING:  # not withdrawn meanwhile
            row.state = State.CHECKED
        row.save()
        record(
            "imports.check",
            actor=Principal.system(),
            target=row.path,
            details={
                "import": row.pk,
                "errors": row.errors,
                "warnings": row.warnings,
                "personal_data": row.personal_data,
            },
        )
        if row.personal_data and row.version is not None:
            lock_file(row.version.node, row.uploaded_by, reason=f"import {row.pk}: personal data")
        _tell_about_report(row)
    return info_of(row)


def _tell_about_report(row: Import) -> None:
    link = f"/imports/{row.pk}/"
    verdict = (
        f"{row.errors} error(s), {row.warnings} warning(s)"
        if row.errors or row.warnings
        else "no findings"
    )
    uploader = get_user_model().objects.filter(username=row.uploaded_by).first()
    if uploader is not None:
        notify(uploader, f"Quality control of {row.filename}: {verdict}.", link=link)
    notify_role(
        Role.DATA_MANAGER,
        f"Import {row.pk} from {row.site.code} awaits your decision ({verdict}).",
        link=link,
        exclude=row.uploaded_by,
    )


def check_queued(limit: int | None = None) -> int:
    """Check every queued import (the checker process and ``cohortvault imports check``)."""
    ids = list(
        Import.objects.filter(state=State.QUEUED).order_by("pk").values_list("pk", flat=True)
    )
    done = 0
    for import_id in ids[:limit]:
        if check(import_id) is not None:
            done += 1
    return done


def requeue_stale(older_than_seconds: int = 600) -> int:
    """Put back imports whose check was cut off (the checker stopped mid-way)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return Import.objects.filter(state=State.CHECKING, uploaded_at__lt=cutoff).update(
        state=State.QUEUED
    )
