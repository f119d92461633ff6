"""Identifier checks: duplicate (subject, timepoint) pairs, subjects and timepoints the site
does not know, and rows of another site. Formats are the conformance pass's pattern check."""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from cohortvault.quality.masking import mask, shorten
from cohortvault.quality.model import Finding, error, warning

SUBJECT, TIMEPOINT, SITE = "subject_id", "timepoint", "site"


def _present(name: str) -> pl.Expr:
    column = pl.col(name)
    return column.is_not_null()


def check(
    frame: pl.DataFrame,
    *,
    site: str,
    known_subjects: Iterable[str] | None,
    known_timepoints: Iterable[str] | None,
    withdrawn_subjects: Iterable[str] = (),
) -> list[Finding]:
    findings: list[Finding] = []
    names = set(frame.columns)
    if {SUBJECT, TIMEPOINT} <= names:
        findings += _duplicates(frame)
    withdrawn = list(withdrawn_subjects)
    if SUBJECT in names and withdrawn:
        found = _flagged(frame, SUBJECT, withdrawn, inside=True)
        if found:
            rows, distinct, example, first = found
            findings.append(
                error(
                    "withdrawn-subject",
                    f"{distinct} subject(s) in {rows} row(s) withdrew their consent (first at "
                    f"row {first}); their data may not be imported again. Remove their rows.",
                    column=SUBJECT,
                    rows=rows,
                    example=mask(example),
                    row=first,
                )
            )
    if SUBJECT in names and known_subjects is not None:
        found = _unknown(frame, SUBJECT, known_subjects)
        if found:
            rows, distinct, example, first = found
            findings.append(
                warning(
                    "unknown-subject",
                    f"{distinct} subject(s) in {rows} row(s) "
                    f"are not registered for the site (first at row {first}).",
                    column=SUBJECT,
                    rows=rows,
                    example=example,
                    row=first,
                )
            )
    if TIMEPOINT in names and known_timepoints is not None:
        found = _unknown(frame, TIMEPOINT, known_timepoints)
        if found:
            rows, distinct, example, first = found
            findings.append(
                error(
                    "unknown-timepoint",
                    f"{distinct} timepoint code(s) in {rows} "
                    "row(s) are not timepoints of the site's study (first at row "
                    f"{first}).",
                    column=TIMEPOINT,
                    rows=rows,
                    example=example,
                    row=first,
                )
            )
    if SITE in names:
        other = _present(SITE) & (pl.col(SITE) != site)
        summary = frame.select(
            other.sum().alias("n"),
            other.arg_true().first().alias("first"),
            pl.col(SITE).filter(other).first().alias("example"),
        ).row(0, named=True)
        if summary["n"]:
            findings.append(
                error(
                    "other-site",
                    f"{summary['n']} row(s) are for another site "
                    f"than {site!r} (first at row {summary['first'] + 2}); a site "
                    "imports only its own data.",
                    column=SITE,
                    rows=summary["n"],
                    example=shorten(str(summary["example"])),
                    row=summary["first"] + 2,
                )
            )
    return findings


def _duplicates(frame: pl.DataFrame) -> list[Finding]:
    """Pairs whose hashes repeat are candidates (found by sorting the hashes, cheaper than a
    hash table; hashes rarely collide); grouping the candidates by their values keeps the
    pairs that really repeat."""
    paired = _present(SUBJECT) & _present(TIMEPOINT)
    hashed = pl.when(paired).then(pl.col(SUBJECT).hash(1) ^ pl.col(TIMEPOINT).hash(2))
    hashes = frame.select(hashed.alias("hash")).get_column("hash")
    ordered = hashes.drop_nulls().sort()
    repeated = ordered.filter(ordered == ordered.shift(1))
    if repeated.is_empty():
        return []
    groups = (
        frame.lazy()
        .select(SUBJECT, TIMEPOINT)
        .with_row_index("row")
        .filter(hashes.is_in(repeated.implode()))
        .group_by([SUBJECT, TIMEPOINT])
        .agg(pl.len().alias("n"), pl.col("row").min().alias("first"), pl.col("row").head(3))
        .filter(pl.col("n") > 1)
        .sort("first")
        .collect()
    )
    if groups.height == 0:
        return []
    rows = int(groups.get_column("n").sum())
    top = groups.row(0, named=True)
    shown = ", ".join(str(r + 2) for r in top["row"])
    example = f"{shorten(str(top[SUBJECT]), 30)} / {shorten(str(top[TIMEPOINT]), 30)}"
    return [
        error(
            "duplicate-key",
            f"{groups.height} (subject_id, timepoint) pair(s) occur more than "
            f"once, in {rows} rows; the first, {example}, on rows {shown}. Each subject has "
            "one row per timepoint.",
            column=f"{SUBJECT}, {TIMEPOINT}",
            rows=rows,
            example=example,
            row=int(top["row"][1]) + 2,
        )
    ]


def _unknown(
    frame: pl.DataFrame, name: str, known: Iterable[str]
) -> tuple[int, int, str, int] | None:
    return _flagged(frame, name, known, inside=False)


def _flagged(
    frame: pl.DataFrame, name: str, values: Iterable[str], *, inside: bool
) -> tuple[int, int, str, int] | None:
    """Rows whose ``name`` is (``inside``) or is not among ``values``: how many, how many
    distinct, the first value and its row (the header is row 1)."""
    listed = pl.col(name).is_in(pl.Series("listed", list(values), dtype=pl.String).implode())
    flags = frame.select(
        (_present(name) & (listed if inside else ~listed)).alias("outside")
    ).get_column("outside")
    count = int(flags.sum())
    if not count:
        return None
    rows = flags.arg_true()
    values = frame.get_column(name).gather(rows)
    return (
        count,
        values.n_unique(),
        shorten(str(values[0]), 40),
        int(rows[0]) + 2,
    )
