"""The only doors to imports, for every front door (web, API, CLI and the checker process).

Stage one happens by itself: a tabular file stored in ``sites/<site>/import/`` by any front
door becomes an import (``register``, called from the file service's signal) and is checked
at once (``check``). Stage two is the data manager's: ``accept`` makes a new dataset version
from exactly the checked content, ``reject`` records why. Every function asks the access policy
and writes the audit entry; an import with personal data is reachable only by its uploader and
the data manager, like its file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any, Protocol

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from cohortvault import quality
from cohortvault.access.guard import authorize
from cohortvault.access.policy import Action, Area, Principal, Role, decide
from cohortvault.audit.trail import record
from cohortvault.catalog import services as catalog
from cohortvault.consortium.models import Site, Study
from cohortvault.datasets import services as datasets
from cohortvault.errors import Conflict, Invalid, NotFound
from cohortvault.files.models import FileVersion, Node
from cohortvault.files.services import lock_file
from cohortvault.governance.notify import notify, notify_role
from cohortvault.imports import content
from cohortvault.imports.models import Import

logger = logging.getLogger(__name__)
State = Import.State

#: File names quality control reads; anything else in an import area is just a file.
TABULAR = frozenset(
    {".csv", ".tsv", ".tab", ".psv", ".xlsx", ".xlsm", ".sav", ".zsav", ".dta", ".rds"}
)


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


# --- stage one: registering and checking --------------------------------------------------------


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


def is_import(node: Node) -> bool:
    parts = node.area.split("/")
    is_area = len(parts) == 3 and parts[0] == "sites" and parts[2] == "import"
    return is_area and PurePosixPath(node.name).suffix.lower() in TABULAR


def register(node: Node, version: FileVersion, principal: Principal) -> Import | None:
    """Record a newly stored tabular file of an import area (inside the storing transaction)."""
    if not is_import(node):
        return None
    site = Site.objects.filter(code=node.area.split("/")[1]).first()
    if site is None:
        return None
    row = Import.objects.create(
        site=site,
        study=_study_of(site, node.path),
        path=node.full_path,
        filename=node.name,
        version=version,
        size=version.size,
        uploaded_by=principal.username,
    )
    record(
        "imports.register",
        actor=principal,
        target=row.path,
        details={"import": row.pk, "version": version.pk},
    )
    if settings.COHORTVAULT_QUALITY_CHECK_INTERVAL == 0:
        transaction.on_commit(lambda: check(row.pk))
    return row


def _study_of(site: Site, path: str) -> Study | None:
    """The study is the first folder of the path, or the site's only study."""
    studies = list(site.studies.all())
    first = path.split("/", 1)[0] if "/" in path else ""
    named = [s for s in studies if s.code == first]
    if named:
        return named[0]
    return studies[0] if len(studies) == 1 else None


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
    table = content.read_table(row.version, row.filename, study=study)
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


def withdraw(node_ids: list[int], principal: Principal) -> int:
    """Withdraw the undecided imports of deleted files (inside the deleting transaction)."""
    undecided = [State.QUEUED, State.CHECKING, State.CHECKED]
    rows = list(Import.objects.filter(version__node_id__in=node_ids, state__in=undecided))
    for row in rows:
        row.state, row.decided_by, row.decided_at = (
            State.WITHDRAWN,
            principal.username,
            timezone.now(),
        )
        row.reason = f"{row.filename} was deleted by {principal.username} before a decision."
        row.save(update_fields=["state", "decided_by", "decided_at", "reason"])
        record("imports.withdraw", actor=principal, target=row.path, details={"import": row.pk})
    return len(rows)


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


# --- who may see what ---------------------------------------------------------------------------


def _area(row: Import) -> Area:
    area = Area.site_import(row.site.code)
    return area.locked(row.uploaded_by) if row.personal_data else area


def _visible(principal: Principal, row: Import) -> bool:
    return decide(principal, Action.READ, _area(row)).allowed


def _get(principal: Principal, import_id: int, action: Action) -> Import:
    row = Import.objects.select_related("site", "study").filter(pk=import_id).first()
    if row is None:
        raise NotFound(f"There is no import {import_id}.")
    conceal = not _visible(principal, row)
    authorize(principal, action, _area(row), conceal=conceal, target=f"import {import_id}")
    return row


# --- reading ------------------------------------------------------------------------------------


def list_imports(
    principal: Principal, *, state: str | None = None, site: str | None = None
) -> list[ImportInfo]:
    """Imports the principal may see, newest first (the data manager sees every site's)."""
    if state is not None and state not in State.values and state != "pending":
        raise Invalid(f"Unknown state {state!r}; one of: pending, {', '.join(State.values)}.")
    rows = Import.objects.select_related("site", "study")
    if state == "pending":
        rows = rows.filter(state__in=[State.QUEUED, State.CHECKING, State.CHECKED])
    elif state:
        rows = rows.filter(state=state)
    if site:
        rows = rows.filter(site__code=site)
    visible = [info_of(row) for row in rows[:500] if _visible(principal, row)]
    with transaction.atomic():
        record("imports.list", actor=principal, details={"state": state, "site": site})
    return visible


def for_file_version(principal: Principal, version_id: int | None) -> ImportInfo:
    """The import a stored file version became (a tabular file in an import area)."""
    row = Import.objects.filter(version_id=version_id).first() if version_id else None
    if row is None:
        raise Invalid("The file is not an import: a CSV, TSV, XLSX, SPSS, Stata or R file.")
    return get(principal, row.pk)


def get(principal: Principal, import_id: int) -> ImportInfo:
    row = _get(principal, import_id, Action.READ)
    return info_of(row)


def report(principal: Principal, import_id: int) -> quality.Report | None:
    """The quality-control report (``None`` while the check has not finished)."""
    row = _get(principal, import_id, Action.READ)
    with transaction.atomic():
        record("imports.report", actor=principal, target=row.path, details={"import": row.pk})
    return quality.Report.from_json(row.report) if row.report else None


def may_decide(principal: Principal, info: ImportInfo) -> bool:
    """Whether to offer accept and reject; the services decide again when they are used."""
    return decide(principal, Action.APPROVE, Area.site_import(info.site)).allowed


# --- stage two: the data manager's decision -----------------------------------------------------


def accept(
    principal: Principal, import_id: int, *, reason: str = "", ticket: int | None = None
) -> ImportInfo:
    """Make the checked content the site's new dataset version (all of it, or nothing);
    ``ticket``: the error ticket the import corrects (``corrections``)."""
    row = _get(principal, import_id, Action.APPROVE)
    reason = reason.strip()
    _ready(row)
    if row.errors:
        raise Conflict(f"Import {row.pk} has {row.errors} error(s); it cannot be accepted.")
    if row.warnings and not reason:
        raise Invalid(f"Import {row.pk} has {row.warnings} warning(s): give a reason to accept.")
    if row.version is None:
        raise Conflict("The checked file is gone (deleted and purged); ask for it again.")
    assert row.study is not None and row.dictionary_version is not None
    dictionary = catalog.version(row.dictionary_version)
    table = content.read_table(row.version, row.filename, study=row.study.code)
    if table.data is None:
        raise Conflict("The stored file can no longer be read; it cannot be accepted.")
    site, study = row.site.code, row.study.code
    try:
        with transaction.atomic():
            locked = Import.objects.select_for_update().get(pk=row.pk)
            _ready(locked)
            merged = content.merge(_current_table(principal, site, study), table.data)
            version = _new_version(principal, row, merged, dictionary, reason, ticket)
            _decide(locked, principal, State.ACCEPTED, reason, dataset_version=version.number)
            record(
                "imports.accept",
                actor=principal,
                target=row.path,
                reason=reason,
                details={"import": row.pk, "dataset": f"{site}/{study}", "version": version.number},
            )
            _tell_uploader(
                locked,
                f"Import {row.pk} ({row.filename}) was accepted as version "
                f"{version.number} of {site}/{study}.",
            )
    except IntegrityError:
        raise Conflict(
            f"Another import of {site}/{study} was accepted at the same moment; accept again."
        ) from None
    return info_of(locked)


def _new_version(
    principal: Principal,
    row: Import,
    merged: Any,
    dictionary: Any,
    reason: str,
    ticket: int | None = None,
) -> datasets.VersionInfo:
    assert row.study is not None
    return datasets.create_version(
        principal,
        site=row.site.code,
        study=row.study.code,
        table=merged,
        dictionary=dictionary,
        import_id=row.pk,
        source=f"import {row.pk}: {row.filename}",
        reason=reason,
        ticket=ticket,
    )


def _current_table(principal: Principal, site: str, study: str) -> Any:
    try:
        latest = datasets.version_info(principal, site, study)
    except NotFound:
        return None
    return datasets.read_version(principal, site, study, latest.number)


def reject(principal: Principal, import_id: int, *, reason: str) -> ImportInfo:
    """Refuse an import with a reason the uploader sees; the dataset stays as it was."""
    row = _get(principal, import_id, Action.APPROVE)
    reason = reason.strip()
    if not reason:
        raise Invalid("Say why the import is rejected: the uploader reads it.")
    with transaction.atomic():
        locked = Import.objects.select_for_update().get(pk=row.pk)
        _ready(locked, checked_only=False)
        _decide(locked, principal, State.REJECTED, reason)
        record(
            "imports.reject",
            actor=principal,
            target=row.path,
            reason=reason,
            details={"import": row.pk},
        )
        _tell_uploader(locked, f"Import {row.pk} ({row.filename}) was rejected: {reason}")
    return info_of(locked)


def _ready(row: Import, *, checked_only: bool = True) -> None:
    if row.state in (State.ACCEPTED, State.REJECTED, State.WITHDRAWN):
        raise Conflict(f"Import {row.pk} was already {row.state} by {row.decided_by}.")
    if checked_only and row.state != State.CHECKED:
        raise Conflict(f"Import {row.pk} has not been checked yet; wait for its report.")
    if checked_only and row.study is None:
        raise Conflict(f"Import {row.pk} belongs to no study; it cannot be accepted.")


def _decide(
    row: Import,
    principal: Principal,
    state: str,
    reason: str,
    *,
    dataset_version: int | None = None,
) -> None:
    row.state = state
    row.decided_by, row.decided_at = principal.username, timezone.now()
    row.reason, row.dataset_version = reason, dataset_version
    row.save()


def _tell_uploader(row: Import, text: str) -> None:
    uploader = get_user_model().objects.filter(username=row.uploaded_by).first()
    if uploader is not None and uploader.get_username() != row.decided_by:
        notify(uploader, text, link=f"/imports/{row.pk}/")
