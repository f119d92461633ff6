"""The rows of each site: its visit-level tables matched on (subject_id, timepoint), in key
order, its subject-level tables looked up by subject_id, every selected variable typed as the
dictionary says (empty where the site lacks it). Vectorised with ``pyarrow.compute``; a column
is copied only when rows are dropped, reordered or looked up, or its type differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from cohortvault.datasets.keys import key_order, take_rows
from cohortvault.extraction.columns import ARROW_TYPES, Column
from cohortvault.extraction.spec import Extraction, SpecError

KEY_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class Note:
    """Something the data manager should know about a delivery (a typed result record)."""

    code: str  # missing-variable | missing-timepoint | repeated-variable
    site: str
    subject: str  # the variable or timepoint concerned
    message: str

    def to_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


@dataclass
class Site:
    name: str
    visits: list[tuple[str, pa.Table]] = field(default_factory=list)  # (study, table)
    subjects: list[tuple[str, pa.Table]] = field(default_factory=list)

    def timepoints(self) -> set[str]:
        found: set[str] = set()
        for _, table in self.visits:
            found.update(str(t) for t in pc.unique(table["timepoint"]).to_pylist() if t)
        return found


def sites_of(spec: Extraction, tables: Mapping[tuple[str, str], pa.Table]) -> list[Site]:
    """The spec's sources grouped by site, in order of the sites' names; raises ``SpecError``
    if the tables do not match the sources."""
    named = {s.key for s in spec.sources}
    problems = [
        f"no table was given for source {s.site}/{s.study} (version {s.version})."
        for s in spec.sources
        if s.key not in tables
    ]
    problems += [
        f"table {s}/{t} is not a source of the spec." for s, t in tables if (s, t) not in named
    ]
    problems += [
        f"table {site}/{study} has no subject_id column."
        for (site, study), table in tables.items()
        if "subject_id" not in table.column_names
    ]
    if problems:
        raise SpecError(problems)
    sites: dict[str, Site] = {}
    for source in spec.sources:
        table = tables[source.key]
        site = sites.setdefault(source.site, Site(source.site))
        if "timepoint" in table.column_names:
            site.visits.append((source.study, table))
            continue
        site.subjects.append((source.study, table))
        ids = table["subject_id"]
        if pc.count_distinct(ids).as_py() + (1 if ids.null_count else 0) < len(ids):
            problems.append(f"table {source.site}/{source.study}: a subject_id repeats.")
    problems += [
        f"site {s.name} has no table with timepoints (only subject-level tables)."
        for s in sites.values()
        if not s.visits
    ]
    if problems:
        raise SpecError(problems)
    return [sites[name] for name in sorted(sites)]


def subject_level(name: str, sites: list[Site]) -> bool:
    """Does ``name`` come only from subject-level tables (one value per subject)?"""
    in_subjects = any(name in t.column_names for s in sites for _, t in s.subjects)
    in_visits = any(name in t.column_names for s in sites for _, t in s.visits)
    return in_subjects and not in_visits


def site_rows(
    site: Site, spec: Extraction, columns: dict[str, Column], notes: list[Note]
) -> pa.Table:
    """One site's rows: site, subject_id, timepoint and the selected variables, in key order."""
    available = site.timepoints() if spec.timepoints else set()
    for timepoint in spec.timepoints:
        if timepoint not in available:
            message = f"{site.name} has no rows at timepoint {timepoint}."
            notes.append(Note("missing-timepoint", site.name, timepoint, message))
    wanted = ("subject_id", "timepoint", *columns)
    visits = [(s, t.select([n for n in wanted if n in t.column_names])) for s, t in site.visits]
    if len(visits) == 1:
        keys, rows = _one_table(visits[0][1], spec.timepoints)
        parts: list[tuple[str, pa.Table]] = [(visits[0][0], rows)]
    else:
        keys, parts = _matched(visits, spec.timepoints)
    subjects = keys["subject_id"]
    for study, table in site.subjects:
        where = pc.index_in(subjects, value_set=pc.cast(table["subject_id"], pa.string()))
        names = [n for n in columns if n in table.column_names]
        parts.append((study, _taken(table.select(names), where)))
    arrays = {
        "site": pa.repeat(pa.scalar(site.name, pa.string()), keys.num_rows),
        "subject_id": subjects,
        "timepoint": keys["timepoint"],
    }
    for name, column in columns.items():
        arrays[name] = _values(name, column, site.name, parts, keys.num_rows, notes)
    return pa.table(arrays)


def _keys(table: pa.Table) -> pa.Table:
    return pa.table({k: pc.cast(table[k], pa.string()) for k in ("subject_id", "timepoint")})


def _one_table(table: pa.Table, timepoints: tuple[str, ...]) -> tuple[pa.Table, pa.Table]:
    """A site's only visit table in key order (checking the key), at the timepoints asked."""
    order = key_order(table)
    if order is not None:
        table = take_rows(table, order)
    if timepoints:
        kept = pc.is_in(pc.cast(table["timepoint"], pa.string()), value_set=pa.array(timepoints))
        if not pc.all(kept).as_py():
            table = table.filter(kept)
    return _keys(table), table


def _matched(
    visits: list[tuple[str, pa.Table]], timepoints: tuple[str, ...]
) -> tuple[pa.Table, list[tuple[str, pa.Table]]]:
    """Several visit tables of one site: every (subject_id, timepoint) any of them has, in key
    order, and each table's rows for those keys (empty where it lacks one)."""
    joined = []
    for _, table in visits:
        key_order(table)  # refuses empty or repeated keys
        keys = _keys(table)
        joined.append(
            pc.binary_join_element_wise(keys["subject_id"], keys["timepoint"], KEY_SEPARATOR)
        )
    every = pc.unique(pa.chunked_array([c for j in joined for c in j.chunks], pa.string()))
    split = pc.split_pattern(every, KEY_SEPARATOR, max_splits=1)
    keys = pa.table(
        {"subject_id": pc.list_element(split, 0), "timepoint": pc.list_element(split, 1)}
    )
    if timepoints:
        keys = keys.filter(pc.is_in(keys["timepoint"], value_set=pa.array(timepoints)))
    keys = keys.take(
        pc.sort_indices(keys, [("subject_id", "ascending"), ("timepoint", "ascending")])
    )
    wanted = pc.binary_join_element_wise(keys["subject_id"], keys["timepoint"], KEY_SEPARATOR)
    parts = []
    for (study, table), joined_keys in zip(visits, joined, strict=True):
        where = pc.index_in(wanted, value_set=joined_keys)
        names = [n for n in table.column_names if n not in ("subject_id", "timepoint")]
        parts.append((study, _taken(table.select(names), where)))
    return keys, parts


def _taken(table: pa.Table, where: pa.Array | pa.ChunkedArray) -> pa.Table:
    """Rows of ``table`` at the positions ``where`` (null: an empty row)."""
    if isinstance(where, pa.ChunkedArray):
        where = where.combine_chunks()
    return pa.table({n: table[n].take(where) for n in table.column_names})


def _values(
    name: str,
    column: Column,
    site: str,
    parts: list[tuple[str, pa.Table]],
    rows: int,
    notes: list[Note],
) -> pa.ChunkedArray | pa.Array:
    target = ARROW_TYPES[column.type]
    holders = [(study, table[name]) for study, table in parts if name in table.column_names]
    if not holders:
        studies = ", ".join(study for study, _ in parts)
        message = f"{site} ({studies}) has no {name}: its cells are empty."
        notes.append(Note("missing-variable", site, name, message))
        return pa.nulls(rows, target)
    if len(holders) > 1:
        studies = ", ".join(study for study, _ in holders)
        message = f"{site} has {name} in {studies}: the first that has a value is used."
        notes.append(Note("repeated-variable", site, name, message))
    values = [v if v.type == target else pc.cast(v, target) for _, v in holders]
    return values[0] if len(values) == 1 else pc.coalesce(*values)
