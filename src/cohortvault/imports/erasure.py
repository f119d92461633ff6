"""Erasing a withdrawn participant from a site's imports, once the withdrawal's retention
period has passed: every stored import file that holds their rows is erased (the file itself
when it is the current content, else that earlier content), and their subject ID is blanked in
the quality-control reports that quote it. Run by the platform (``corrections``)."""

from __future__ import annotations

import polars as pl

from cohortvault.access.policy import Principal
from cohortvault.files import services as files
from cohortvault.files.models import FileVersion
from cohortvault.imports import content
from cohortvault.imports.models import Import

__all__ = ["REDACTED", "erase_subject"]

REDACTED = "[withdrawn]"


def _holds(row: Import, subject_id: str) -> bool:
    assert row.version is not None
    table = content.read_table(
        row.version, row.filename, study=row.study.code if row.study else None
    )
    frame = table.frame
    if frame is None or "subject_id" not in frame.columns:
        return False
    return bool(frame.select((pl.col("subject_id").str.strip_chars() == subject_id).any()).item())


def erase_subject(site: str, subject_id: str, *, reason: str) -> dict[str, int]:
    """Erase the subject's rows from the site's stored imports; returns counts."""
    erased = scrubbed = 0
    rows = Import.objects.select_related("version", "study").filter(site__code=site)
    for row in rows.filter(version__isnull=False).order_by("pk"):
        version_id = row.version_id
        if version_id is None or not FileVersion.objects.filter(pk=version_id).exists():
            continue  # erased with an earlier import of the same file
        if _holds(row, subject_id):
            files.erase_version(Principal.system(), version_id, reason=reason)
            erased += 1
    for row in rows.exclude(report=""):
        if subject_id and subject_id in row.report:
            Import.objects.filter(pk=row.pk).update(report=row.report.replace(subject_id, REDACTED))
            scrubbed += 1
    return {"import files erased": erased, "reports redacted": scrubbed}
