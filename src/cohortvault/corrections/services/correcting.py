"""Correcting a ticket's data: by editing cells, or by a corrected file that goes through the
same quality control as an import. Either way the data manager makes a new version of the
site's dataset, tied to the ticket and carrying a reason; the correction records what changed
(in counts), which deliveries it reached, resolves the ticket and updates the error log, all in
one transaction with the new version.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pyarrow as pa
from django.conf import settings
from django.db import transaction

from cohortvault import quality
from cohortvault.access.policy import Principal
from cohortvault.audit.trail import Outcome, record
from cohortvault.catalog import services as catalog
from cohortvault.consortium.models import Site, Study
from cohortvault.corrections.models import Correction
from cohortvault.corrections.services.affected import record_affected, redeliver_quietly
from cohortvault.corrections.services.records import CellEdit, CorrectionInfo, correction_info
from cohortvault.datasets import services as datasets
from cohortvault.errors import CohortvaultError, Conflict, Invalid
from cohortvault.files import services as files
from cohortvault.imports import services as imports
from cohortvault.tickets import services as tickets

__all__ = ["MAX_EDITS", "correct_cells", "correct_with_file", "finish"]

KEY = ["subject_id", "timepoint"]
PROTECTED = frozenset({"subject_id", "timepoint", "site"})
MAX_EDITS = 10_000
MAX_REASON = 4000


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise Invalid("Say why the data are corrected: the version and the error log carry it.")
    if len(reason) > MAX_REASON:
        raise Invalid(f"The reason is longer than {MAX_REASON} characters.")
    return reason


def _study(info: tickets.TicketInfo) -> Study:
    return Study.objects.select_related("site").get(site__code=info.site, code=info.study)


# --- finishing -----------------------------------------------------------------------------------


def finish(
    principal: Principal,
    *,
    kind: str,
    site: str,
    study: str,
    old_version: int,
    new_version: int,
    reason: str,
    ticket: int | None = None,
    withdrawal: Any = None,
    import_id: int | None = None,
) -> Correction:
    """Record a correction that made ``new_version`` (inside the caller's transaction): its
    counts from the diff, the deliveries it reached, the ticket's resolution, the error log."""
    found = datasets.diff(principal, site, study, old_version, new_version)
    columns = found.changes.column("column").to_pylist()
    correction = Correction.objects.create(
        kind=kind,
        ticket_id=ticket,
        withdrawal=withdrawal,
        site=Site.objects.get(code=site),
        study=Study.objects.get(site__code=site, code=study),
        old_version=old_version,
        new_version=new_version,
        import_id=import_id,
        reason=reason,
        variables=sorted(set(columns)),
        cells=len(columns),
        rows_added=found.rows_added.num_rows,
        rows_removed=found.rows_removed.num_rows,
        created_by=principal.username,
    )
    reached = record_affected(principal, correction, found.changes) if ticket else 0
    details = {
        "correction": correction.pk,
        "dataset": f"{site}/{study}",
        "version": new_version,
        "cells": correction.cells,
        "variables": correction.variables,
        "deliveries_affected": reached,
    }
    if ticket is not None:
        tickets.record_correction(
            principal,
            ticket,
            summary=(
                f"Corrected {correction.cells} value(s) of {', '.join(correction.variables)} "
                f"({Correction.Kind(kind).label}): {site}/{study} version {new_version}."
            ),
            details=details,
        )
    record(
        "corrections.create",
        actor=principal,
        target=f"{site}/{study}",
        reason=reason if ticket is not None else "",
        details={**details, "kind": kind, "ticket": ticket},
    )
    return correction


def _after(principal: Principal, correction: Correction) -> None:
    if settings.COHORTVAULT_REDELIVER_CORRECTIONS and correction.affected.exists():
        redeliver_quietly(principal, correction.pk)


def _failed(principal: Principal, ticket: int, exc: CohortvaultError) -> None:
    with transaction.atomic():
        record(
            "corrections.create",
            actor=principal,
            outcome=Outcome.FAILED,
            target=f"ticket {ticket}",
            reason=exc.message,
            details={"problems": [str(d) for d in exc.details[:20]]},
        )


# --- cell edits ----------------------------------------------------------------------------------


def correct_cells(
    principal: Principal, ticket: int, *, edits: list[CellEdit], reason: str
) -> CorrectionInfo:
    """Set each edited cell of the site's latest dataset version to its new value, checked
    against the dictionary like an import (the data manager)."""
    info = tickets.ticket_for_correction(principal, ticket)
    try:
        reason = _reason(reason)
        if not edits:
            raise Invalid("Give at least one cell to correct.")
        if len(edits) > MAX_EDITS:
            raise Invalid(f"At most {MAX_EDITS} cells at once; upload a corrected file instead.")
        latest = datasets.version_info(principal, info.site, info.study)
        table = datasets.read_version(principal, info.site, info.study, latest.number)
        edited, changed_rows = _apply(table, edits)
        _check(changed_rows, edits, site=info.site, study=_study(info))
        with transaction.atomic():
            version = datasets.create_version(
                principal,
                site=info.site,
                study=info.study,
                table=edited,
                dictionary=catalog.current(),
                source=f"ticket {ticket}: {len(edits)} cell edit(s)",
                reason=reason,
                ticket=ticket,
            )
            correction = finish(
                principal,
                kind=Correction.Kind.CELLS,
                site=info.site,
                study=info.study,
                old_version=latest.number,
                new_version=version.number,
                reason=reason,
                ticket=ticket,
            )
            if correction.cells != len(edits):
                raise Invalid(
                    f"{len(edits) - correction.cells} of the cells already hold the value given; "
                    "nothing was corrected. Leave those out.",
                )
    except CohortvaultError as exc:
        _failed(principal, ticket, exc)
        raise
    _after(principal, correction)
    return correction_info(correction)


def _apply(table: pa.Table, edits: list[CellEdit]) -> tuple[pa.Table, pl.DataFrame]:
    """The table with the edits made (edited columns become text, which the new version types
    again) and the edited rows as text, for quality control."""
    problems = []
    seen: set[tuple[str, str, str]] = set()
    for number, edit in enumerate(edits, start=1):
        where = f"edit {number} ({edit.subject_id} {edit.timepoint} {edit.variable})"
        if not edit.subject_id or not edit.timepoint or not edit.variable:
            problems.append(f"{where}: subject_id, timepoint and variable are required.")
        elif edit.variable in PROTECTED:
            problems.append(f"{where}: identifiers are not corrected by editing cells.")
        elif edit.variable not in table.column_names:
            problems.append(f"{where}: the dataset has no column {edit.variable!r}.")
        key = (edit.subject_id, edit.timepoint, edit.variable)
        if key in seen:
            problems.append(f"{where}: the same cell is edited twice.")
        seen.add(key)
    if problems:
        raise Invalid("Some cell edits cannot be made.", details=problems)
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    changes = pl.DataFrame(
        {
            "subject_id": [e.subject_id for e in edits],
            "timepoint": [e.timepoint for e in edits],
            "variable": [e.variable for e in edits],
            "value": [e.value for e in edits],
        },
        schema={k: pl.String for k in ("subject_id", "timepoint", "variable", "value")},
    )
    keys = frame.select(pl.col(k).cast(pl.String) for k in KEY)
    absent = changes.join(keys, on=KEY, how="anti")
    if absent.height:
        raise Invalid(
            "Some edited rows are not in the latest version.",
            details=[f"no row for {s} at {t}" for s, t, *_ in absent.rows()[:50]],
        )
    for variable in sorted(set(changes.get_column("variable").to_list())):
        mine = changes.filter(pl.col("variable") == variable).select(
            *KEY, pl.col("value").alias("__value"), pl.lit(True).alias("__edited")
        )
        frame = (
            frame.with_columns(pl.col(variable).cast(pl.String))
            .join(mine, on=KEY, how="left", maintain_order="left")
            .with_columns(
                pl.when(pl.col("__edited").fill_null(False))
                .then(pl.col("__value"))
                .otherwise(pl.col(variable))
                .alias(variable)
            )
            .drop("__value", "__edited")
        )
    edited_rows = frame.join(changes.select(KEY).unique(), on=KEY, how="semi")
    columns = [*KEY, *(["site"] if "site" in frame.columns else [])]
    columns += sorted(set(changes.get_column("variable").to_list()))
    text = edited_rows.select(pl.col(c).cast(pl.String) for c in columns)
    return frame.to_arrow(), text


def _check(rows: pl.DataFrame, edits: list[CellEdit], *, site: str, study: Study) -> None:
    """Quality control of the edited rows: any error in an edited column refuses them all."""
    report = quality.check(
        quality.Table(frame=rows, detected=quality.Detected("cell edits", rows=rows.height)),
        catalog.current(),
        site=site,
        known_timepoints=list(study.timepoints.values_list("code", flat=True)) or None,
    )
    edited = {e.variable for e in edits}
    errors = [f for f in report.errors if f.column in edited]
    if errors:
        raise Invalid(
            "The new values do not pass quality control; nothing was changed.",
            details=[f"{f.column}: {f.message}" for f in errors],
        )


# --- a corrected file ----------------------------------------------------------------------------


def correct_with_file(
    principal: Principal,
    ticket: int,
    *,
    filename: str,
    source: Any,
    size: int | None,
    reason: str,
) -> CorrectionInfo:
    """Store a corrected file in the site's import area, check it as an import at once, and
    accept it as the correction (refused, and the import rejected, when it has errors)."""
    info = tickets.ticket_for_correction(principal, ticket)
    try:
        reason = _reason(reason)
        name = filename.replace("\\", "/").rsplit("/", 1)[-1]
        path = f"sites/{info.site}/import/{info.study}/corrections/ticket-{ticket}-{name}"
        entry = files.write_file(principal, path, source, size=size)
        found = imports.for_file_version(principal, entry.version)
        checked = imports.check(found.id) or imports.get(principal, found.id)
        if not checked.acceptable:
            report = imports.report(principal, found.id)
            problems = [
                f"{f.column or '-'}: {f.message}" for f in (report.errors if report else [])
            ]
            imports.reject(
                principal, found.id, reason=f"The correction for ticket {ticket} has errors."
            )
            raise Invalid(
                f"The corrected file has errors (import {found.id}); nothing was changed.",
                details=problems or [f"import {found.id} is {checked.state}"],
            )
        with transaction.atomic():
            old = datasets.version_info(principal, info.site, info.study).number
            accepted = imports.accept(principal, found.id, reason=reason, ticket=ticket)
            assert accepted.dataset_version is not None
            correction = finish(
                principal,
                kind=Correction.Kind.FILE,
                site=info.site,
                study=info.study,
                old_version=old,
                new_version=accepted.dataset_version,
                reason=reason,
                ticket=ticket,
                import_id=found.id,
            )
            if correction.cells == 0 and correction.rows_added == 0:
                raise Conflict("The corrected file changes nothing in the dataset.")
    except CohortvaultError as exc:
        _failed(principal, ticket, exc)
        raise
    _after(principal, correction)
    return correction_info(correction)
