"""How many subjects each requested site could contribute to a proposal: distinct subjects of
the latest version of each requested study with at least one non-missing requested variable at
a requested timepoint.

The counts are aggregate answers computed by the platform from site data the caller may not
read, so they pass disclosure control: a count below ``SMALL_COUNT`` is shown only as "fewer
than 5", never as a number, and no total across sites is given (it would reveal the hidden
count by subtraction).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from django.db import transaction

from cohortvault.access.guard import authorize
from cohortvault.access.policy import Action, Facility, Principal
from cohortvault.audit.trail import record
from cohortvault.catalog import services as catalog
from cohortvault.catalog.schema import Dictionary
from cohortvault.consortium.models import Site
from cohortvault.datasets import stored
from cohortvault.datasets.models import DatasetVersion
from cohortvault.datasets.typed import missing_codes
from cohortvault.errors import NotFound
from cohortvault.projects.services.common import SMALL_COUNT, proposal_for


@dataclass(frozen=True)
class SiteAvailability:
    site: str
    name: str
    count: int | None  # None when suppressed (fewer than SMALL_COUNT) or without data
    shown: str  # what pages and the CLI print: "42", "fewer than 5", "no data yet"
    sources: tuple[str, ...]  # "study v3" for each dataset version counted

    @property
    def suppressed(self) -> bool:
        return self.count is None and bool(self.sources)


def availability(principal: Principal, proposal_id: int) -> list[SiteAvailability]:
    """The proposal's availability table (anyone who may read the proposal; aggregates)."""
    proposal = proposal_for(principal, proposal_id, Action.READ)
    authorize(principal, Action.READ, Facility.AGGREGATES, target=str(proposal))
    found = count_subjects(
        sites=list(proposal.sites),
        studies=list(proposal.studies),
        timepoints=list(proposal.timepoints),
        variables=list(proposal.variables),
    )
    with transaction.atomic():
        record(
            "projects.availability",
            actor=principal,
            target=str(proposal),
            details={"sites": len(found), "suppressed": sum(s.suppressed for s in found)},
        )
    return found


def count_subjects(
    *, sites: list[str], studies: list[str], timepoints: list[str], variables: list[str]
) -> list[SiteAvailability]:
    """The counts, disclosure-controlled; for services that checked their caller already."""
    try:
        dictionary: Dictionary | None = catalog.current()
    except NotFound:
        dictionary = None
    found = []
    for site in Site.objects.filter(code__in=sites).order_by("code"):
        subjects: set[str] = set()
        sources = []
        for study in site.studies.filter(code__in=studies).order_by("code"):
            latest = (
                DatasetVersion.objects.select_related("blob__area_key")
                .filter(dataset__study=study)
                .order_by("-number")
                .first()
            )
            if latest is None:
                continue
            sources.append(f"{study.code} v{latest.number}")
            subjects |= _contributing(latest, timepoints, variables, dictionary)
        count = len(subjects)
        if not sources:
            shown = "no data yet"
        elif count < SMALL_COUNT:
            shown = f"fewer than {SMALL_COUNT}"
        else:
            shown = str(count)
        found.append(
            SiteAvailability(
                site=site.code,
                name=site.name,
                count=count if sources and count >= SMALL_COUNT else None,
                shown=shown,
                sources=tuple(sources),
            )
        )
    return found


def _contributing(
    version: DatasetVersion,
    timepoints: list[str],
    variables: list[str],
    dictionary: Dictionary | None,
) -> set[str]:
    present = [v for v in variables if v in version.column_names]
    if not present or not timepoints:
        return set()
    table = stored.load(version.blob, columns=["subject_id", "timepoint", *present])
    at_timepoints = pc.is_in(
        pc.cast(table["timepoint"], pa.string()), value_set=pa.array(timepoints, pa.string())
    )
    observed = None
    for name in present:
        has_value = _observed(table[name], name, dictionary)
        observed = has_value if observed is None else pc.or_(observed, has_value)
    keep = pc.and_(at_timepoints, observed)
    chosen = pc.filter(pc.cast(table["subject_id"], pa.string()), pc.fill_null(keep, False))
    return {str(s) for s in pc.unique(chosen).to_pylist() if s is not None}


def _observed(column: pa.ChunkedArray, name: str, dictionary: Dictionary | None) -> pa.Array:
    """True where a value is present: not null, and not a missing-value code kept as a value
    (``-99`` in an integer column)."""
    present = pc.is_valid(column)
    if dictionary is None:
        return present
    codes = [c for c in missing_codes(dictionary.variable(name), dictionary) if c]
    if not codes:
        return present
    text = pc.cast(column, pa.string())
    missing = pc.fill_null(pc.is_in(text, value_set=pa.array(codes, pa.string())), False)
    return pc.and_(present, pc.invert(missing))
