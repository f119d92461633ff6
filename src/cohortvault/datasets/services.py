"""The datasets' doors: create a version (the imports app, when the data manager accepts an
import), list datasets, read a version's log, content, preview and exports, and compare two
versions. Every front door (pages, API, command line) and every other domain comes through
here.

A dataset belongs to the site data area of its site (``sites/<site>/data/<study>``), so the
policy's rules for that area apply unchanged: its site's members and the data manager read it,
and only the data manager writes it (creates versions). A caller who may not read the area is
answered as if the dataset did not exist. Every call is audited, reads included, as the file
service does; refusals are audited by ``authorize``.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from cohortvault.access.guard import authorize
from cohortvault.access.policy import Action, Area, Principal, decide
from cohortvault.audit.trail import Outcome, record
from cohortvault.catalog.schema import Dictionary
from cohortvault.consortium.models import Site, Study
from cohortvault.datasets import stored
from cohortvault.datasets.diff import PAGE_LIMIT, Diff, compare
from cohortvault.datasets.formats import ExportFormat, csv_chunks
from cohortvault.datasets.models import Dataset, DatasetVersion
from cohortvault.datasets.records import DatasetInfo, Export, Preview, VersionInfo, info_of
from cohortvault.datasets.typed import typed_slices
from cohortvault.errors import CohortvaultError, Conflict, Invalid, NotFound
from cohortvault.storage.maintenance import forget_blob
from cohortvault.storage.models import Blob

__all__ = [
    "PAGE_LIMIT",
    "PREVIEW_ROWS",
    "DatasetInfo",
    "Diff",
    "Export",
    "ExportFormat",
    "Preview",
    "VersionInfo",
    "create_version",
    "datasets",
    "diff",
    "export",
    "log",
    "preview",
    "read_version",
    "redact",
    "subjects",
    "version_info",
    "without_subject",
]

MAX_REASON = 4000
MAX_SOURCE = 500
PREVIEW_ROWS = 50


def _target(site: str, study: str) -> str:
    return f"{Area.site_data(site).path}/{study}"


# --- who may ---------------------------------------------------------------------------------


def _authorize(principal: Principal, action: Action, site: str, study: str) -> Study:
    """Ask the policy about the site's data area; a dataset the caller may not even read
    answers like a missing one. Returns the study."""
    area = Area.site_data(site)
    conceal = not decide(principal, Action.READ, area).allowed
    authorize(principal, action, area, conceal=conceal, target=_target(site, study))
    found = Study.objects.select_related("site").filter(site__code=site, code=study).first()
    if found is None:
        raise NotFound(f"Site {site} has no study {study}.")
    return found


def _readable_sites(principal: Principal) -> list[str]:
    codes = Site.objects.values_list("code", flat=True)
    return [code for code in codes if decide(principal, Action.READ, Area.site_data(code))]


def _audit(principal: Principal, action: str, target: str, **details: object) -> None:
    with transaction.atomic():
        record(f"datasets.{action}", actor=principal, target=target, details=details)


# --- reading ---------------------------------------------------------------------------------


def _versions(site: str, study: str) -> QuerySet[DatasetVersion]:
    return DatasetVersion.objects.select_related("dataset__study__site", "blob__area_key").filter(
        dataset__study__site__code=site, dataset__study__code=study
    )


def _version(site: str, study: str, number: int | None) -> DatasetVersion:
    rows = _versions(site, study)
    row = rows.filter(number=number).first() if number is not None else rows.first()
    if row is None:
        if number is None:
            raise NotFound(f"The dataset {site}/{study} has no versions yet.")
        raise NotFound(f"The dataset {site}/{study} has no version {number}.")
    return row


def datasets(principal: Principal) -> list[DatasetInfo]:
    """The datasets the principal may read, with their latest versions, by site and study."""
    sites = _readable_sites(principal)
    found = []
    query = Dataset.objects.select_related("study__site").filter(study__site__code__in=sites)
    for dataset in query:
        versions = dataset.versions.select_related("dataset__study__site", "blob")
        latest = versions.first()
        if latest is not None:
            found.append(
                DatasetInfo(
                    site=dataset.study.site.code,
                    study=dataset.study.code,
                    name=dataset.study.name,
                    versions=versions.count(),
                    latest=info_of(latest),
                )
            )
    _audit(principal, "list", "datasets", datasets=len(found))
    return found


def log(principal: Principal, site: str, study: str) -> list[VersionInfo]:
    """Every version of a dataset, newest first (empty before the first)."""
    _authorize(principal, Action.READ, site, study)
    found = [info_of(row) for row in _versions(site, study)]
    _audit(principal, "log", _target(site, study), versions=len(found))
    return found


def version_info(
    principal: Principal, site: str, study: str, number: int | None = None
) -> VersionInfo:
    """What a version (the latest without ``number``) holds, who made it, when and why."""
    _authorize(principal, Action.READ, site, study)
    info = info_of(_version(site, study, number))
    _audit(principal, "info", _target(site, study), version=info.number)
    return info


def read_version(principal: Principal, site: str, study: str, number: int) -> pa.Table:
    """A version's content as a typed Arrow table, rows in (subject_id, timepoint) order."""
    _authorize(principal, Action.READ, site, study)
    row = _version(site, study, number)
    _audit(principal, "read", _target(site, study), version=row.number, rows=row.rows)
    return stored.load(row.blob)


def preview(
    principal: Principal, site: str, study: str, number: int, *, rows: int = PREVIEW_ROWS
) -> Preview:
    """A version's columns and first ``rows`` rows, for its page."""
    _authorize(principal, Action.READ, site, study)
    row = _version(site, study, number)
    table = stored.head(row.blob, rows)
    _audit(principal, "preview", _target(site, study), version=row.number, rows=rows)
    fields = stored.schema_of(table).get("fields") or []
    described = {str(f.get("name")): f for f in fields if isinstance(f, dict)}
    columns = [
        {**described.get(name, {"name": name}), "stored_as": str(table.schema.field(name).type)}
        for name in table.column_names
    ]
    return Preview(info=info_of(row), fields=columns, rows=table.to_pylist())


def subjects(site: str, study: str) -> set[str]:
    """The subject_ids of the latest version (empty before the first), for quality control's
    "unknown subject" check. For other services, which check their own caller first."""
    row = _versions(site, study).first()
    if row is None:
        return set()
    column = stored.load(row.blob, columns=["subject_id"])["subject_id"]
    return {str(s) for s in pc.unique(column).to_pylist() if s is not None}


def export(
    principal: Principal,
    site: str,
    study: str,
    number: int,
    *,
    format: ExportFormat | str = ExportFormat.CSV,
) -> Export:
    """A version as a download: the stored Parquet file (decrypted), or spreadsheet-safe CSV
    (``formats``). Either is streamed in chunks."""
    chosen = _export_format(format)
    _authorize(principal, Action.READ, site, study)
    row = _version(site, study, number)
    _audit(principal, "export", _target(site, study), version=row.number, format=chosen.value)
    filename = f"{site}-{study}-v{row.number}.{chosen.value}"
    if chosen is ExportFormat.PARQUET:
        return Export(filename, chosen.media_type, row.blob.size, stored.chunks(row.blob))
    return Export(filename, chosen.media_type, None, csv_chunks(stored.load(row.blob)))


def _export_format(value: ExportFormat | str) -> ExportFormat:
    try:
        return ExportFormat(value)
    except ValueError:
        raise Invalid(f"Export as csv or parquet, not {value!r}.") from None


def diff(principal: Principal, site: str, study: str, old: int, new: int) -> Diff:
    """What changed from version ``old`` to version ``new``, cell by cell (``diff`` module)."""
    _authorize(principal, Action.READ, site, study)
    rows = {n: _version(site, study, n) for n in dict.fromkeys((old, new))}
    tables = {n: stored.load(row.blob, text_as_dictionary=True) for n, row in rows.items()}
    found = compare(
        tables[old], tables[new], old_number=old, new_number=new, site=site, study=study
    )
    _audit(principal, "diff", _target(site, study), old=old, new=new, **found.totals)
    return found


# --- changing --------------------------------------------------------------------------------


def create_version(
    principal: Principal,
    *,
    site: str,
    study: str,
    table: pa.Table,
    dictionary: Dictionary,
    import_id: int | None = None,
    source: str = "",
    reason: str = "",
    ticket: int | None = None,
) -> VersionInfo:
    """Type ``table`` (text columns, as quality control read them) by the dictionary, sort it,
    and store it as the dataset's next version (the data manager only).

    The encrypted Parquet file is written first, then its row with the audit entry in one
    transaction, which may be nested in the caller's (the imports app marks its import
    accepted in the same one). If anything fails, neither a row nor a stored file remains;
    if the caller's own transaction rolls back afterwards, the unreferenced file is removed
    by the storage's garbage collection.
    """
    found = _authorize(principal, Action.WRITE, site, study)
    target = _target(site, study)
    try:
        source = _checked_text(source, MAX_SOURCE, "source")
        reason = _checked_text(reason, MAX_REASON, "reason")
        schema = stored.table_schema(table.column_names, dictionary)
        content = stored.to_parquet(typed_slices(table, dictionary), schema)
        blob = stored.store(site, content)
        try:
            with transaction.atomic():
                row = _store(
                    principal, found, table, dictionary, blob, import_id, source, reason, ticket
                )
        except BaseException:
            stored.discard(blob)
            raise
    except CohortvaultError as exc:
        with transaction.atomic():
            record(
                "datasets.create",
                actor=principal,
                outcome=Outcome.FAILED,
                target=target,
                reason=exc.message,
                details={"import": import_id, "problems": len(exc.details)},
            )
        raise
    return info_of(row)


def _checked_text(value: str, limit: int, name: str) -> str:
    value = value.strip()
    if len(value) > limit:
        raise Invalid(f"The {name} is longer than {limit} characters.")
    return value


def _store(
    principal: Principal,
    study: Study,
    table: pa.Table,
    dictionary: Dictionary,
    blob: Blob,
    import_id: int | None,
    source: str,
    reason: str,
    ticket: int | None,
) -> DatasetVersion:
    try:
        with transaction.atomic():
            dataset, _ = Dataset.objects.select_for_update().get_or_create(study=study)
            latest = dataset.versions.order_by("-number").first()
            blob.save(force_insert=True)
            row = DatasetVersion.objects.create(
                dataset=dataset,
                number=latest.number + 1 if latest else 1,
                blob=blob,
                rows=table.num_rows,
                columns=table.num_columns,
                column_names=table.column_names,
                dictionary_version=dictionary.version if dictionary.version > 0 else None,
                import_id=import_id,
                reason=reason,
                source=source,
                created_by=principal.username,
                checksum=blob.checksum,
                ticket=ticket,
            )
    except IntegrityError:
        raise Conflict("Another version was stored at the same moment; try again.") from None
    record(
        "datasets.create",
        actor=principal,
        target=_target(study.site.code, study.code),
        reason=reason,
        details={
            "version": row.number,
            "rows": row.rows,
            "columns": row.columns,
            "import": import_id,
            "ticket": ticket,
            "source": source,
            "dictionary_version": row.dictionary_version,
            "size": blob.size,
            "checksum": row.checksum,
        },
    )
    row.dataset.study = study
    return row


# --- erasing a withdrawn subject ---------------------------------------------------------------


def without_subject(table: pa.Table, subject_id: str) -> pa.Table:
    """The table without the subject's rows."""
    same = pc.equal(pc.cast(table["subject_id"], pa.string()), subject_id)
    return table.filter(pc.invert(pc.fill_null(same, False)))


def redact(*, site: str, subject_id: str, reason: str) -> list[tuple[str, int, int]]:
    """Erase a subject's rows from every stored version of the site's datasets: each version
    that holds them gets the same content without them, its old content is deleted, and
    ``redacted_at`` is set. Run as the system when a consent withdrawal's retention period has
    passed (``corrections``); returns (study, version, rows removed) for each version changed.
    """
    changed = []
    rows = DatasetVersion.objects.select_related("dataset__study__site", "blob__area_key")
    for row in rows.filter(dataset__study__site__code=site).order_by("dataset", "number"):
        ids = stored.load(row.blob, columns=["subject_id"])["subject_id"]
        if not pc.any(pc.equal(ids, subject_id)).as_py():
            continue
        table = stored.load(row.blob)
        kept = without_subject(table, subject_id)
        content = stored.to_parquet([kept], stored.schema_of(table))
        blob = stored.store(site, content)
        try:
            with transaction.atomic():
                blob.save(force_insert=True)
                old = row.blob
                DatasetVersion.objects.filter(pk=row.pk).update(
                    blob=blob,
                    checksum=blob.checksum,
                    rows=kept.num_rows,
                    redacted_at=timezone.now(),
                )
                forget_blob(old)
                record(
                    "datasets.redact",
                    actor=Principal.system(),
                    target=_target(site, row.dataset.study.code),
                    reason=reason,
                    details={
                        "version": row.number,
                        "rows_removed": table.num_rows - kept.num_rows,
                        "checksum": blob.checksum,
                    },
                )
        except BaseException:
            stored.discard(blob)
            raise
        changed.append((row.dataset.study.code, row.number, table.num_rows - kept.num_rows))
    return changed
