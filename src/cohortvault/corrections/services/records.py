"""The records the correction services return, for every front door to render alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cohortvault.corrections.models import AffectedDelivery, Correction, Withdrawal

__all__ = [
    "AffectedInfo",
    "CellEdit",
    "CorrectionInfo",
    "ErrorLogRow",
    "WithdrawalInfo",
    "affected_info",
    "correction_info",
    "withdrawal_info",
]


@dataclass(frozen=True)
class CellEdit:
    """One cell to correct: the row's key, the variable, and its new value (``None`` or the
    empty string: missing)."""

    subject_id: str
    timepoint: str
    variable: str
    value: str | None

    @classmethod
    def from_dict(cls, data: object) -> CellEdit:
        if not isinstance(data, dict):
            raise TypeError("a cell edit is an object with subject_id, timepoint, variable, value")
        unknown = set(data) - {"subject_id", "timepoint", "variable", "value"}
        if unknown:
            raise TypeError(f"unknown keys {sorted(unknown)}")
        value = data.get("value")
        return cls(
            subject_id=str(data.get("subject_id") or "").strip(),
            timepoint=str(data.get("timepoint") or "").strip(),
            variable=str(data.get("variable") or "").strip(),
            value=None if value is None or str(value) == "" else str(value),
        )


@dataclass(frozen=True)
class AffectedInfo:
    project: str
    delivery: int
    cells: int
    rows: int
    variables: list[str]
    latest: bool
    redelivery: int | None
    problem: str

    @property
    def pending(self) -> bool:
        return self.latest and self.redelivery is None


@dataclass(frozen=True)
class CorrectionInfo:
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
    affected: list[AffectedInfo] = field(default_factory=list)

    @property
    def link(self) -> str:
        return f"/corrections/{self.id}/"

    @property
    def pending_projects(self) -> list[str]:
        return sorted({a.project for a in self.affected if a.pending})


@dataclass(frozen=True)
class WithdrawalInfo:
    id: int
    site: str
    subject_id: str
    reason: str
    recorded_by: str
    recorded_at: datetime
    erase_after: datetime
    erased_at: datetime | None
    erasure: dict[str, int]
    corrections: list[CorrectionInfo] = field(default_factory=list)


@dataclass(frozen=True)
class ErrorLogRow:
    """One line of the public error log: no value and no subject, only what and when."""

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

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def affected_info(row: AffectedDelivery) -> AffectedInfo:
    return AffectedInfo(
        project=row.project.code,
        delivery=row.delivery.number,
        cells=row.cells,
        rows=row.rows,
        variables=list(row.variables),
        latest=row.latest,
        redelivery=row.redelivery.number if row.redelivery else None,
        problem=row.problem,
    )


def correction_info(row: Correction) -> CorrectionInfo:
    rows = row.affected.select_related("project", "delivery", "redelivery")
    return CorrectionInfo(
        id=row.pk,
        kind=row.kind,
        kind_label=Correction.Kind(row.kind).label,
        ticket=row.ticket_id,
        withdrawal=row.withdrawal_id,
        site=row.site.code,
        study=row.study.code,
        old_version=row.old_version,
        new_version=row.new_version,
        import_id=row.import_id,
        reason=row.reason,
        variables=list(row.variables),
        cells=row.cells,
        rows_added=row.rows_added,
        rows_removed=row.rows_removed,
        created_by=row.created_by,
        created_at=row.created_at,
        affected=[affected_info(a) for a in rows],
    )


def withdrawal_info(row: Withdrawal) -> WithdrawalInfo:
    corrections = row.corrections.select_related("site", "study").all()
    return WithdrawalInfo(
        id=row.pk,
        site=row.site.code,
        subject_id=row.subject_id,
        reason=row.reason,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
        erase_after=row.erase_after,
        erased_at=row.erased_at,
        erasure=dict(row.erasure),
        corrections=[correction_info(c) for c in corrections],
    )
