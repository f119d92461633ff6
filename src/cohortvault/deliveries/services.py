"""The only doors to deliveries: run an extraction (the data manager), list and read
deliveries and compare two of them (whoever may read the project's area).

An extraction reads the chosen version of every granted site dataset, lets the extraction
engine merge and transform them, writes the delivery's files into an owner-only scratch folder,
and stores them all at once (a tar batch: all or nothing) into the sealed
``projects/<code>/deliveries/NNN/``, which only the platform may write. The row that numbers
the delivery commits after its files; a failure in between removes them again.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from cohortvault import __version__
from cohortvault.access.guard import authorize
from cohortvault.access.policy import Action, Area, Facility, Principal
from cohortvault.audit.trail import Outcome, record
from cohortvault.catalog import services as catalog
from cohortvault.consortium.models import Membership, Project, Timepoint
from cohortvault.datasets import services as datasets
from cohortvault.datasets.diff import Diff
from cohortvault.deliveries.models import Delivery
from cohortvault.errors import Conflict, Invalid, NotFound
from cohortvault.extraction import Extraction, Source, SpecError, delivery_diff, extract
from cohortvault.extraction import write_delivery as write_files
from cohortvault.extraction.transforms import Transform, transform_from_dict
from cohortvault.files import services as files
from cohortvault.files.uploads import write_batch
from cohortvault.governance.notify import notify
from cohortvault.projects import services as projects

LAYOUTS = ("long", "wide")


@dataclass(frozen=True)
class DeliveryInfo:
    project: str
    number: int
    folder: str
    rows: int
    columns: int
    files: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    created_by: str
    created_at: datetime
    note: str
    spec: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.number:03d}"


def _info(row: Delivery) -> DeliveryInfo:
    return DeliveryInfo(
        project=row.project.code,
        number=row.number,
        folder=row.folder,
        rows=row.rows,
        columns=row.columns,
        files=list(row.files),
        notes=list(row.notes),
        created_by=row.created_by,
        created_at=row.created_at,
        note=row.note,
        spec=json.loads(row.spec),
    )


def _project(principal: Principal, code: str, action: Action) -> Project:
    """The project, if the principal may ``action`` its area (reading: members and DMs)."""
    area = Area.project(code)
    authorize(principal, action, area, conceal=True, target=str(area))
    project = Project.objects.filter(code=code, status=Project.Status.ACTIVE).first()
    if project is None:
        raise NotFound(f"There is no active project {code}.")
    return project


# --- reading ------------------------------------------------------------------------------------


def deliveries(principal: Principal, project: str) -> list[DeliveryInfo]:
    found = _project(principal, project, Action.LIST)
    rows = [_info(row) for row in found.deliveries.select_related("project")]
    with transaction.atomic():
        record("deliveries.list", actor=principal, target=f"projects/{project}/deliveries")
    return rows


def delivery(principal: Principal, project: str, number: int) -> DeliveryInfo:
    found = _project(principal, project, Action.READ)
    row = found.deliveries.select_related("project").filter(number=number).first()
    if row is None:
        raise NotFound(f"Project {project} has no delivery {number}.")
    with transaction.atomic():
        record("deliveries.read", actor=principal, target=row.folder)
    return _info(row)


def read_table(principal: Principal, project: str, number: int) -> pa.Table:
    """A delivery's data, from its stored ``data.parquet`` (read through the file service)."""
    info = delivery(principal, project, number)
    download = files.read_file(principal, f"{info.folder}/data.parquet")
    return pq.read_table(pa.BufferReader(b"".join(download.chunks)))


def diff(principal: Principal, project: str, old: int, new: int) -> Diff:
    """Cell-level differences between two deliveries, keyed like the delivered table."""
    return delivery_diff(read_table(principal, project, old), read_table(principal, project, new))


# --- extraction ---------------------------------------------------------------------------------


def parse_transforms(raw: object) -> tuple[Transform, ...]:
    """Transforms from their JSON form (a list of objects with a ``kind``)."""
    if raw in (None, ""):
        return ()
    if not isinstance(raw, list):
        raise Invalid("Transforms are a JSON list of objects, each with a kind.")
    found, problems = [], []
    for number, item in enumerate(raw, start=1):
        try:
            found.append(transform_from_dict(item))
        except (TypeError, ValueError) as exc:
            problems.append(f"transform {number}: {exc}")
    if problems:
        raise Invalid("Some transforms are not valid.", details=problems)
    return tuple(found)


def sources_for(
    principal: Principal, project: str, versions: Mapping[str, int] | None
) -> list[Source]:
    """The dataset version of every granted site and study: ``versions`` (``site/study`` to a
    number) where given, else the latest."""
    grant = projects.grant(project)
    chosen = dict(versions or {})
    sources, missing = [], []
    for site, study in grant.datasets:
        key = f"{site}/{study}"
        try:
            info = datasets.version_info(principal, site, study, chosen.pop(key, None))
        except NotFound as exc:
            missing.append(f"{key}: {exc.message}")
            continue
        sources.append(Source(site, study, info.number, info.checksum))
    missing += [f"{key}: not a granted site and study of project {project}." for key in chosen]
    if missing or not sources:
        details = missing or [f"Project {project}'s sites have no accepted dataset versions yet."]
        raise Conflict("Some granted data cannot be extracted.", details=details)
    return sources


def redeliver(
    principal: Principal,
    project: str,
    *,
    based_on: int,
    versions: Mapping[str, int],
    note: str,
) -> DeliveryInfo:
    """A new delivery made exactly like delivery ``based_on`` (its transforms, layout and
    source versions) except for the dataset versions ``versions`` names: how corrected data
    reach a project, so that the diff of the two deliveries shows the correction alone."""
    _project(principal, project, Action.READ)
    row = Delivery.objects.filter(project__code=project, number=based_on).first()
    if row is None:
        raise NotFound(f"Project {project} has no delivery {based_on}.")
    spec = json.loads(row.spec)
    granted = {f"{s}/{t}" for s, t in projects.grant(project).datasets}
    chosen = {
        f"{s['site']}/{s['study']}": int(s["version"])
        for s in spec.get("sources", [])
        if f"{s['site']}/{s['study']}" in granted
    }
    chosen.update(versions)
    return run_extraction(
        principal,
        project,
        transforms=parse_transforms(spec.get("transforms") or []),
        layout=str(spec.get("layout") or "long"),
        versions=chosen,
        note=note,
    )


def latest_numbers() -> dict[str, int]:
    """Each active project's newest delivery number (for the corrections app)."""
    rows = Delivery.objects.filter(project__status=Project.Status.ACTIVE)
    found = rows.values("project__code").annotate(last=Max("number"))
    return {item["project__code"]: item["last"] for item in found}


def run_extraction(
    principal: Principal,
    project: str,
    *,
    transforms: tuple[Transform, ...] = (),
    layout: str = "long",
    versions: Mapping[str, int] | None = None,
    note: str = "",
) -> DeliveryInfo:
    """Extract the project's granted data into its next delivery (the data manager only)."""
    target = f"projects/{project}/deliveries"
    authorize(principal, Action.WRITE, Facility.EXTRACTION, target=target)
    found = Project.objects.filter(code=project, status=Project.Status.ACTIVE).first()
    if found is None:
        raise NotFound(f"There is no active project {project}.")
    try:
        blockers = projects.extraction_blockers(project)
        if blockers:
            raise Conflict(
                "Extraction is blocked until every site's agreement is valid.", details=blockers
            )
        if layout not in LAYOUTS:
            raise Invalid(f"The layout is long or wide, not {layout!r}.")
        spec, tables, dictionary = _prepared(principal, project, transforms, layout, versions)
        try:
            result = extract(spec, tables, dictionary)
        except SpecError as exc:
            raise Invalid(
                "The extraction cannot run as asked.", details=list(exc.problems)
            ) from None
        return _deliver(principal, found, result, spec, dictionary.version, note)
    except (Conflict, Invalid) as exc:
        with transaction.atomic():
            record(
                "deliveries.create",
                actor=principal,
                outcome=Outcome.FAILED,
                target=target,
                reason=exc.message,
                details={"problems": exc.details[:20]},
            )
        raise


def _prepared(
    principal: Principal,
    project: str,
    transforms: tuple[Transform, ...],
    layout: str,
    versions: Mapping[str, int] | None,
) -> tuple[Extraction, dict[tuple[str, str], pa.Table], Any]:
    grant = projects.grant(project)
    dictionary = catalog.current()
    sources = sources_for(principal, project, versions)
    spec = Extraction(
        variables=tuple(grant.variables),
        sources=tuple(sources),
        transforms=transforms,
        layout=layout,  # type: ignore[arg-type]
        timepoints=tuple(grant.timepoints),
    )
    problems = spec.problems(dictionary)
    if problems:
        raise Invalid("The extraction cannot run as asked.", details=problems)
    tables = {
        (s.site, s.study): datasets.read_version(principal, s.site, s.study, s.version)
        for s in sources
    }
    absent = absent_timepoints(grant.timepoints, tables)
    if absent:
        raise Conflict("Some granted timepoints have no data to extract.", details=absent)
    return spec, tables, dictionary


def absent_timepoints(
    wanted: tuple[str, ...], tables: Mapping[tuple[str, str], pa.Table]
) -> list[str]:
    """Granted timepoints of a study that its dataset version has no rows for (timepoints of
    other studies do not count: studies name their waves differently)."""
    problems = []
    for (site, study), table in sorted(tables.items()):
        registered = set(
            Timepoint.objects.filter(study__site__code=site, study__code=study).values_list(
                "code", flat=True
            )
        )
        present = set(table.column("timepoint").unique().to_pylist())
        for timepoint in sorted((registered & set(wanted)) - present):
            problems.append(f"{site}/{study} has no data at timepoint {timepoint}.")
    return problems


def _deliver(
    principal: Principal,
    project: Project,
    result: Any,
    spec: Extraction,
    dictionary: int,
    note: str,
) -> DeliveryInfo:
    number = (project.deliveries.aggregate(last=Max("number"))["last"] or 0) + 1
    folder = f"projects/{project.code}/deliveries/{number:03d}"
    provenance = {
        "project": project.code,
        "delivery": number,
        "dictionary_version": dictionary,
        "extracted_by": principal.username,
        "extracted_at": timezone.now().isoformat(),
        "note": note,
        "cohortvault": __version__,
    }
    scratch = Path(settings.DATA_DIR) / "tmp"
    scratch.mkdir(mode=0o700, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch, prefix="delivery-") as work:
        written = write_files(result, Path(work) / f"{number:03d}", provenance=provenance)
        stream, size = _tar(written)
        write_batch(Principal.system(), folder, stream, size=size)
        manifest = json.loads((Path(work) / f"{number:03d}" / "provenance.json").read_text())
        listed = [{"name": p.name, "size": p.stat().st_size, "sha256": _digest(p)} for p in written]
    try:
        with transaction.atomic():
            row = Delivery.objects.create(
                project=project,
                number=number,
                spec=spec.to_json(),
                provenance=json.dumps(manifest, ensure_ascii=False),
                rows=result.table.num_rows,
                columns=result.table.num_columns,
                files=listed,
                notes=[n.to_dict() for n in result.notes],
                created_by=principal.username,
                note=note,
            )
            record(
                "deliveries.create",
                actor=principal,
                target=folder,
                details={
                    "rows": row.rows,
                    "columns": row.columns,
                    "sources": [s.__dict__ for s in spec.sources],
                },
            )
            _tell_members(project, row)
    except BaseException as exc:
        files.delete(Principal.system(), folder)
        if isinstance(exc, IntegrityError):
            raise Conflict(
                "Another extraction for this project finished first; run it again."
            ) from None
        raise
    return _info(row)


def _tar(paths: list[Path]) -> tuple[io.BytesIO, int]:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in paths:
            archive.add(path, arcname=path.name, recursive=False)
    size = buffer.tell()
    buffer.seek(0)
    return buffer, size


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _tell_members(project: Project, row: Delivery) -> None:
    members = Membership.objects.active().filter(group__project=project).values("user_id")
    for user in get_user_model().objects.filter(pk__in=members, is_active=True):
        notify(
            user,
            f"Delivery {row.number:03d} of project {project.code} is ready "
            f"({row.rows} rows, {row.columns} columns).",
            link=f"/deliveries/{project.code}/{row.number}/",
        )
