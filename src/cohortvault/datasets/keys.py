"""The key of a dataset's rows, (subject_id, timepoint): complete, unique, and the order rows
are stored in. Vectorised (no row-by-row Python)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.compute as pc

from cohortvault.errors import Invalid

__all__ = ["KEY", "key_order", "sorted_by_key", "take_rows"]

KEY = ("subject_id", "timepoint")


def key_order(table: pa.Table) -> pa.Array | None:
    """The row order that sorts ``table`` by its key, or None if it is sorted already.

    Refuses (``Invalid``) a key with empty cells or repeated pairs. Most tables arrive sorted;
    that is checked first (two vectorised comparisons of neighbours), so only an unsorted
    table is sorted.
    """
    subject, timepoint = (pc.cast(table[k], pa.string()).combine_chunks() for k in KEY)
    for name, keys in zip(KEY, (subject, timepoint), strict=True):
        if keys.null_count:
            first = pc.index(pc.is_null(keys), True).as_py()
            raise Invalid(f"{keys.null_count} row(s) have no {name} (the first: row {first + 1}).")
    order = None
    if len(subject) > 1 and not _in_order(subject, timepoint):
        order = pc.sort_indices(
            pa.table([subject, timepoint], names=list(KEY)),
            sort_keys=[(k, "ascending") for k in KEY],
        )
        subject, timepoint = (c.take(order) for c in (subject, timepoint))
    _refuse_duplicates(subject, timepoint)
    return order


def sorted_by_key(table: pa.Table) -> pa.Table:
    """The rows in (subject_id, timepoint) order, checking the key is complete and unique."""
    order = key_order(table)
    return table if order is None else take_rows(table, order)


def _neighbours(column: pa.Array) -> tuple[pa.Array, pa.Array]:
    return column.slice(1), column.slice(0, len(column) - 1)


def _in_order(subject: pa.Array, timepoint: pa.Array) -> bool:
    later_subject, subject_before = _neighbours(subject)
    later_timepoint, timepoint_before = _neighbours(timepoint)
    backwards = pc.or_(
        pc.less(later_subject, subject_before),
        pc.and_(
            pc.equal(later_subject, subject_before), pc.less(later_timepoint, timepoint_before)
        ),
    )
    return not pc.any(backwards).as_py()


def _refuse_duplicates(subject: pa.Array, timepoint: pa.Array) -> None:
    if len(subject) < 2:
        return
    later_subject, subject_before = _neighbours(subject)
    later_timepoint, timepoint_before = _neighbours(timepoint)
    twice = pc.and_(
        pc.equal(later_subject, subject_before), pc.equal(later_timepoint, timepoint_before)
    )
    count = int(pc.sum(twice).as_py() or 0)
    if count:
        raise Invalid(f"{count} row(s) repeat the subject_id and timepoint of another row.")


def take_rows(table: pa.Table, order: pa.Array) -> pa.Table:
    """``table.take(order)``, a column per thread."""
    workers = min(table.num_columns, os.cpu_count() or 1) or 1
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sorting") as pool:
        columns = list(pool.map(lambda c: c.combine_chunks().take(order), table.columns))
    return pa.Table.from_arrays(columns, schema=table.schema)
