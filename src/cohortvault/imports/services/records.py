"""The record the import services return, for every front door to render alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cohortvault.imports.models import Import

__all__ = ["ImportInfo", "State", "info_of"]

State = Import.State


@dataclass(frozen=True)
class ImportInfo:
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

    @property
    def link(self) -> str:
        return f"/imports/{self.id}/"


def info_of(row: Import) -> ImportInfo:
    return ImportInfo(
        id=row.pk,
        site=row.site.code,
        study=row.study.code if row.study else "",
        path=row.path,
        filename=row.filename,
        size=row.size,
        uploaded_by=row.uploaded_by,
        uploaded_at=row.uploaded_at,
        state=row.state,
        errors=row.errors,
        warnings=row.warnings,
        personal_data=row.personal_data,
        dictionary_version=row.dictionary_version,
        checked_at=row.checked_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        reason=row.reason,
        dataset_version=row.dataset_version,
        acceptable=row.acceptable,
    )
