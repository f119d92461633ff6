"""The records the dataset services return, for every front door to render the same way."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from cohortvault.datasets.models import DatasetVersion

__all__ = ["DatasetInfo", "Export", "Preview", "VersionInfo", "info_of"]


@dataclass(frozen=True)
class VersionInfo:
    site: str
    study: str
    number: int
    rows: int
    columns: int
    column_names: tuple[str, ...]
    dictionary_version: int | None
    import_id: int | None
    reason: str
    source: str
    created_by: str
    created_at: datetime
    checksum: str
    size: int
    ticket: int | None = None
    redacted_at: datetime | None = None


@dataclass(frozen=True)
class DatasetInfo:
    site: str
    study: str
    name: str
    versions: int
    latest: VersionInfo


@dataclass(frozen=True)
class Preview:
    """A version's first rows, and its columns as the Table Schema it carries describes them."""

    info: VersionInfo
    fields: list[dict[str, object]]
    rows: list[dict[str, object]]


@dataclass(frozen=True)
class Export:
    filename: str
    media_type: str
    size: int | None  # known for Parquet (the stored file), not for CSV
    chunks: Iterator[bytes]


def info_of(row: DatasetVersion) -> VersionInfo:
    study = row.dataset.study
    return VersionInfo(
        site=study.site.code,
        study=study.code,
        number=row.number,
        rows=row.rows,
        columns=row.columns,
        column_names=tuple(row.column_names),
        dictionary_version=row.dictionary_version,
        import_id=row.import_id,
        reason=row.reason,
        source=row.source,
        created_by=row.created_by,
        created_at=row.created_at,
        checksum=row.checksum,
        size=row.blob.size,
        ticket=row.ticket,
        redacted_at=row.redacted_at,
    )
