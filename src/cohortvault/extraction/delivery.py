"""A delivery on disk: ``data.csv``, ``data.parquet``, ``datapackage.json`` (a Frictionless
Data Package describing the CSV), ``codebook.md`` and ``provenance.json`` (with the sha256 of
the other four), all in one folder that appears whole or not at all.

The files are written into a hidden temporary folder beside the target, each synced to disk,
and the folder is then renamed to its name; on any failure the temporary folder is removed.
CSV and Parquet are written by Arrow's writers in two threads at once; values are exact (no
spreadsheet quoting), nulls are empty cells, missing-value codes stay as they were stored and
the Table Schema declares them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

import cohortvault
from cohortvault.datasets.diff import Diff, compare
from cohortvault.extraction.codebook import codebook, value_counts
from cohortvault.extraction.engine import Result

FILES = ("data.csv", "data.parquet", "datapackage.json", "codebook.md", "provenance.json")
#: Parquet key-value metadata holding the Table Schema (as stored dataset versions do).
SCHEMA_KEY = b"cohortvault.table_schema"
CSV_BATCH_ROWS = 65_536


def write_delivery(result: Result, folder: Path, *, provenance: dict[str, Any]) -> list[Path]:
    """Write the delivery of ``result`` into ``folder`` (which must not exist yet) and return
    the paths of its files. ``provenance`` (who asked, for which project, under which
    approval, …) goes into ``provenance.json`` with the spec, the notes and the checksums;
    its keys ``spec``, ``notes``, ``rows``, ``columns``, ``files`` and ``software`` are
    the engine's."""
    folder = Path(folder)
    if folder.exists():
        raise FileExistsError(f"{folder} exists already; a delivery goes into a new folder.")
    folder.parent.mkdir(parents=True, exist_ok=True)
    temp = folder.parent / f".{folder.name}.{secrets.token_hex(6)}.partial"
    temp.mkdir()  # not mkdtemp: the delivery folder gets the usual permissions, not 0700
    try:
        files = _write_files(result, temp, provenance, name=_package_name(folder, provenance))
        _sync(temp)
        os.rename(temp, folder)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    _sync(folder.parent)
    return [folder / name for name in files]


def _write_files(
    result: Result, temp: Path, provenance: dict[str, Any], *, name: str
) -> dict[str, dict[str, Any]]:
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="delivery") as pool:
        csv = pool.submit(write_csv, result.table, temp / "data.csv")
        parquet = pool.submit(write_parquet, result, temp / "data.parquet")
        counts = value_counts(result)
        files = {"data.csv": csv.result(), "data.parquet": parquet.result()}
    package = datapackage(result, files["data.csv"], name=name)
    files["datapackage.json"] = _write_text(temp / "datapackage.json", _json(package))
    title = str(provenance.get("title") or name)
    files["codebook.md"] = _write_text(temp / "codebook.md", codebook(result, counts, title=title))
    manifest = {
        **provenance,
        "spec": result.spec.to_dict(),
        "notes": [n.to_dict() for n in result.notes],
        "rows": result.table.num_rows,
        "columns": result.table.column_names,
        "files": files,
        "software": {
            "cohortvault": cohortvault.__version__,
            "duckdb": duckdb.__version__,
            "pyarrow": pa.__version__,
        },
    }
    files["provenance.json"] = _write_text(temp / "provenance.json", _json(manifest))
    return files


def write_csv(table: pa.Table, path: Path) -> dict[str, Any]:
    """``table`` as CSV (header line, comma-separated, UTF-8), synced; its size and sha256."""
    with pa.OSFile(str(path), "wb") as sink:
        pacsv.write_csv(
            table_schema_numbers(table), sink, pacsv.WriteOptions(batch_size=CSV_BATCH_ROWS)
        )
    return _synced(path)


def table_schema_numbers(table: pa.Table) -> pa.Table:
    """NaN and infinities spelled as the Table Schema does (``NaN``, ``INF``, ``-INF``; Arrow
    writes ``nan`` and ``inf``), in the few number columns that hold them."""
    for index, kind in enumerate(table.schema.types):
        if not pa.types.is_floating(kind):
            continue
        values = table.column(index)
        if not pc.any(pc.invert(pc.is_finite(values))).as_py():
            continue
        text = pc.cast(values, pa.string())
        for special, spelled in ((float("inf"), "INF"), (float("-inf"), "-INF")):
            text = pc.if_else(pc.equal(values, special), spelled, text)
        text = pc.if_else(pc.is_nan(values), "NaN", text)
        table = table.set_column(index, table.schema.field(index).name, text)
    return table


def write_parquet(result: Result, path: Path) -> dict[str, Any]:
    """The table as Parquet (zstd) with its Table Schema in the file's metadata, synced."""
    metadata = {SCHEMA_KEY: json.dumps(result.schema).encode("utf-8")}
    pq.write_table(result.table.replace_schema_metadata(metadata), str(path), compression="zstd")
    return _synced(path)


def datapackage(result: Result, csv: dict[str, Any], *, name: str) -> dict[str, Any]:
    """The Data Package: one tabular resource, ``data.csv``, with the result's Table Schema."""
    return {
        "name": name,
        "resources": [
            {
                "name": "data",
                "type": "table",
                "path": "data.csv",
                "scheme": "file",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "bytes": csv["bytes"],
                "hash": f"sha256:{csv['sha256']}",
                "schema": result.schema,
            }
        ],
        "cohortvault": {
            "parquet": "data.parquet",
            "codebook": "codebook.md",
            "provenance": "provenance.json",
            "layout": result.spec.layout,
        },
    }


def _package_name(folder: Path, provenance: dict[str, Any]) -> str:
    name = str(provenance.get("name") or folder.name).lower()
    return re.sub(r"[^a-z0-9._-]+", "-", name).strip("-._") or "delivery"


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


def _write_text(path: Path, text: str) -> dict[str, Any]:
    with path.open("w", encoding="utf-8", newline="\n") as sink:
        sink.write(text)
    return _synced(path)


def _synced(path: Path) -> dict[str, Any]:
    """Sync ``path`` to disk and return its size and sha256 (read back from the page cache)."""
    digest = hashlib.sha256()
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
        with os.fdopen(os.dup(descriptor), "rb") as source:
            while chunk := source.read(1 << 20):
                digest.update(chunk)
    finally:
        os.close(descriptor)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def _sync(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# --- comparing deliveries ------------------------------------------------------------------


def delivery_diff(old: pa.Table, new: pa.Table) -> Diff:
    """What changed from one delivery's table to the next, cell by cell (the datasets' diff,
    ``cohortvault.datasets.diff.compare``).

    Rows are matched on (subject_id, timepoint) (wide tables: subject_id, with an empty
    timepoint); ``site`` is compared as a cell. Should a subject ID occur at two sites, rows
    are matched on (site, subject_id, timepoint) and the diff names subjects ``site/subject_id``.
    """
    old, new = _keyed(old), _keyed(new)
    if not (_unique(old) and _unique(new)):
        old, new = _qualified(old), _qualified(new)
    return compare(old, new)


def _keyed(table: pa.Table) -> pa.Table:
    if "timepoint" in table.column_names:
        return table
    timepoint = pa.array([""] * table.num_rows, pa.string())
    return table.add_column(min(2, table.num_columns), "timepoint", timepoint)


def _unique(table: pa.Table) -> bool:
    groups = table.select(["subject_id", "timepoint"]).group_by(["subject_id", "timepoint"])
    return bool(groups.aggregate([]).num_rows == table.num_rows)


def _qualified(table: pa.Table) -> pa.Table:
    subject = pc.binary_join_element_wise(
        pc.cast(table["site"], pa.string()), pc.cast(table["subject_id"], pa.string()), "/"
    )
    return table.set_column(table.column_names.index("subject_id"), "subject_id", subject)
