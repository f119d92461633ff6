"""Stage two, the data manager's: ``accept`` makes a new dataset version from exactly the
checked content (all of it, or nothing), ``reject`` records why for the uploader."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from cohortvault.access.policy import Action, Principal
from cohortvault.audit.trail import record
from cohortvault.catalog import services as catalog
from cohortvault.datasets import services as datasets
from cohortvault.errors import Conflict, Invalid, NotFound
from cohortvault.governance.notify import notify
from cohortvault.imports import content
from cohortvault.imports.models import Import
from cohortvault.imports.services.common import import_row
from cohortvault.imports.services.records import ImportInfo, State, info_of

__all__ = ["accept", "reject"]


def accept(
    principal: Principal, import_id: int, *, reason: str = "", ticket: int | None = None
) -> ImportInfo:
    """Make the checked content the site's new dataset version (all of it, or nothing);
    ``ticket``: the error ticket the import corrects (``corrections``)."""
    row = import_row(principal, import_id, Action.APPROVE)
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
    row = import_row(principal, import_id, Action.APPROVE)
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
