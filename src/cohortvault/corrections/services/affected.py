"""Which deliveries hold a value a correction changed, telling their projects, and re-delivering.

A delivery's provenance (its spec) names the version of every site dataset it was extracted
from, the variables and the timepoints. A corrected cell reached a delivery when the delivery
took its dataset from a version older than the correction's, the cell's variable and timepoint
were delivered, and the value the delivery got differs from the corrected one (read from the
version it was extracted from, so a cell that an earlier version already had right does not
count). Only active projects are affected: a closed project has no data area any more.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from typing import Any

import polars as pl
import pyarrow as pa
from django.contrib.auth import get_user_model
from django.db import transaction

from cohortvault.access.guard import authorize
from cohortvault.access.policy import Action, Facility, Principal
from cohortvault.audit.trail import record
from cohortvault.consortium.models import Membership, Project
from cohortvault.corrections.models import AffectedDelivery, Correction
from cohortvault.corrections.services import errorlog
from cohortvault.datasets import services as datasets
from cohortvault.deliveries import services as deliveries
from cohortvault.deliveries.models import Delivery
from cohortvault.errors import CohortvaultError, Conflict, NotFound
from cohortvault.governance.notify import notify
from cohortvault.tickets import services as tickets

logger = logging.getLogger(__name__)

KEY = ["subject_id", "timepoint"]


def _source_version(spec: dict[str, Any], site: str, study: str) -> int | None:
    for source in spec.get("sources", []):
        if source.get("site") == site and source.get("study") == study:
            return int(source["version"])
    return None


def _text(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame.select(pl.all().cast(pl.String))


def _reached(
    principal: Principal, correction: Correction, changes: pl.DataFrame, version: int
) -> pl.DataFrame:
    """The changed cells whose value in ``version`` differs from the corrected one."""
    if version == correction.old_version:
        return changes
    columns = sorted(set(changes.get_column("column").to_list()))
    site, study = correction.site.code, correction.study.code
    table = datasets.read_version(principal, site, study, version)
    present = [c for c in columns if c in table.column_names]
    if not present:
        return changes.clear()
    earlier = _text(table.select([*KEY, *present])).unpivot(
        index=KEY, on=present, variable_name="column", value_name="delivered"
    )
    joined = changes.join(earlier, on=[*KEY, "column"], how="inner")
    return joined.filter(pl.col("delivered").ne_missing(pl.col("new"))).drop("delivered")


def record_affected(principal: Principal, correction: Correction, changes: pa.Table) -> int:
    """Find and record the deliveries a correction's changed cells reached (in the caller's
    transaction), and tell each project's members. Returns how many deliveries."""
    cells = _text(changes)
    if cells.height == 0:
        return 0
    site, study = correction.site.code, correction.study.code
    latest = deliveries.latest_numbers()
    rows = Delivery.objects.select_related("project").filter(project__status=Project.Status.ACTIVE)
    by_project: dict[str, list[AffectedDelivery]] = defaultdict(list)
    for delivery in rows.order_by("project__code", "number"):
        spec = json.loads(delivery.spec)
        version = _source_version(spec, site, study)
        if version is None or version >= correction.new_version:
            continue
        wanted = cells.filter(pl.col("column").is_in(list(spec.get("variables", []))))
        timepoints = list(spec.get("timepoints") or [])
        if timepoints:
            wanted = wanted.filter(pl.col("timepoint").is_in(timepoints))
        reached = _reached(principal, correction, wanted, version) if wanted.height else wanted
        if reached.height == 0:
            continue
        affected = AffectedDelivery.objects.create(
            correction=correction,
            project=delivery.project,
            delivery=delivery,
            cells=reached.height,
            variables=sorted(set(reached.get_column("column").to_list())),
            latest=latest.get(delivery.project.code) == delivery.number,
        )
        by_project[delivery.project.code].append(affected)
    for project, affected_rows in by_project.items():
        _tell_project(correction, project, affected_rows)
    return sum(len(affected_rows) for affected_rows in by_project.values())


def _tell_project(correction: Correction, project: str, rows: list[AffectedDelivery]) -> None:
    numbers = ", ".join(f"{r.delivery.number:03d}" for r in rows)
    variables = ", ".join(sorted({v for r in rows for v in r.variables}))
    cells = max(r.cells for r in rows)
    why = f"ticket {correction.ticket_id}" if correction.ticket_id else "a correction"
    text = (
        f"{why.capitalize()} corrected {cells} value(s) of {variables} from "
        f"{correction.site.code}/{correction.study.code} in delivery {numbers} of project "
        f"{project}; a corrected delivery follows."
    )
    tell_members(project, text, link=f"/deliveries/{project}/")


def tell_members(project: str, text: str, *, link: str) -> None:
    members = Membership.objects.active().filter(group__project__code=project).values("user_id")
    for user in get_user_model().objects.filter(pk__in=members, is_active=True):
        notify(user, text, link=link)


# --- re-delivering -----------------------------------------------------------------------------


def redeliver(
    principal: Principal, correction_id: int, *, project: str | None = None
) -> list[deliveries.DeliveryInfo]:
    """Give every project still waiting for this correction (or just ``project``) a new
    delivery: its newest delivery's spec with the corrected dataset version (the data manager,
    who extracts)."""
    authorize(principal, Action.WRITE, Facility.EXTRACTION, target=f"correction {correction_id}")
    correction = Correction.objects.select_related("site", "study").filter(pk=correction_id).first()
    if correction is None:
        raise NotFound(f"There is no correction {correction_id}.")
    waiting = AffectedDelivery.objects.select_related("project", "delivery").filter(
        correction=correction, latest=True, redelivery__isnull=True
    )
    if project is not None:
        waiting = waiting.filter(project__code=project)
    made, problems = [], []
    for row in list(waiting):
        try:
            made.append(_redeliver_one(principal, correction, row))
        except CohortvaultError as exc:
            problems.append(f"{row.project.code}: {exc.message} {' '.join(map(str, exc.details))}")
    if problems:
        raise Conflict(
            f"{len(problems)} project(s) could not be re-delivered; the others were.",
            details=[p.strip() for p in problems],
        )
    return made


def _redeliver_one(
    principal: Principal, correction: Correction, row: AffectedDelivery
) -> deliveries.DeliveryInfo:
    code = row.project.code
    key = f"{correction.site.code}/{correction.study.code}"
    base = deliveries.latest_numbers().get(code, row.delivery.number)
    base_spec = json.loads(Delivery.objects.get(project=row.project, number=base).spec)
    used = _source_version(base_spec, correction.site.code, correction.study.code) or 0
    why = (
        f"ticket {correction.ticket_id}"
        if correction.ticket_id
        else f"consent withdrawal {correction.withdrawal_id}"
    )
    try:
        if used >= correction.new_version:
            info = deliveries.delivery(principal, code, base)  # already carries the correction
        else:
            info = deliveries.redeliver(
                principal,
                code,
                based_on=base,
                versions={key: correction.new_version},
                note=f"Corrected data for {why} ({key} version {correction.new_version}).",
            )
    except CohortvaultError as exc:
        AffectedDelivery.objects.filter(pk=row.pk).update(
            problem=f"{exc.message} {' '.join(str(d) for d in exc.details)}".strip()[:2000]
        )
        raise
    with transaction.atomic():
        made = Delivery.objects.get(project=row.project, number=info.number)
        settled = AffectedDelivery.objects.filter(
            project=row.project,
            latest=True,
            redelivery__isnull=True,
            correction__site=correction.site,
            correction__study=correction.study,
            correction__new_version__lte=max(used, correction.new_version),
        )
        tickets_told = set(
            settled.exclude(correction__ticket=None).values_list("correction__ticket", flat=True)
        )
        settled.update(redelivery=made, problem="")
        for ticket in tickets_told:
            tickets.record_redelivery(
                principal,
                ticket,
                text=f"Project {code} received corrected delivery {info.number:03d}.",
                project=code,
            )
        errorlog.publish()
        record(
            "corrections.redeliver",
            actor=principal,
            target=f"projects/{code}/deliveries",
            details={"correction": correction.pk, "delivery": info.number},
        )
    return info


def redeliver_quietly(principal: Principal, correction_id: int) -> None:
    """Re-deliver right away (the ``redeliver_corrections`` setting); a failure is recorded on
    the affected delivery for the data manager, never undoing the correction."""
    try:
        redeliver(principal, correction_id)
    except CohortvaultError as exc:
        logger.warning("re-delivery after correction %s failed: %s", correction_id, exc.message)
