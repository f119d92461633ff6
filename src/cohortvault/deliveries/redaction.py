"""Erasing a withdrawn participant from deliveries made before their withdrawal.

Deliveries are immutable, with one exception the law requires: once the retention period of a
consent withdrawal has passed, the platform rewrites ``data.csv`` and ``data.parquet`` of every
delivery that still holds the subject's rows without them, brings ``datapackage.json`` up to
date (the CSV's size and hash), adds ``redactions.json`` saying what was removed when and why,
and erases the earlier contents at once. ``provenance.json`` stays as it was made: it names the
source versions and checksums the delivery was extracted from.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cohortvault.access.policy import Principal
from cohortvault.audit.trail import record
from cohortvault.deliveries.models import Delivery
from cohortvault.extraction.delivery import write_csv
from cohortvault.files import services as files
from cohortvault.files.models import Node, path_key

__all__ = ["delivered_rows", "redact"]


def _read(folder: str, name: str) -> bytes:
    return b"".join(files.read_file(Principal.system(), f"{folder}/{name}").chunks)


def _matches(table: pa.Table, site: str, subject_id: str) -> pa.ChunkedArray:
    same = pc.equal(pc.cast(table["subject_id"], pa.string()), subject_id)
    if "site" in table.column_names:
        same = pc.and_(same, pc.equal(pc.cast(table["site"], pa.string()), site))
    return pc.fill_null(same, False)


def delivered_rows(table: pa.Table, *, site: str, subject_id: str) -> int:
    """How many rows of a delivered table belong to the subject of the site."""
    if "subject_id" not in table.column_names or table.num_rows == 0:
        return 0
    return int(pc.sum(pc.cast(_matches(table, site, subject_id), pa.int64())).as_py() or 0)


def redact(delivery: Delivery, *, site: str, subject_id: str, reason: str) -> int:
    """Remove the subject's rows from the delivery's data files (as the platform); returns the
    rows removed (0: nothing to do)."""
    system = Principal.system()
    folder = delivery.folder
    parquet = pq.read_table(pa.BufferReader(_read(folder, "data.parquet")))
    keep = pc.invert(_matches(parquet, site, subject_id))
    kept = parquet.filter(keep)
    removed = int(parquet.num_rows - kept.num_rows)
    if not removed:
        return 0
    scratch = Path(settings.DATA_DIR) / "tmp"
    scratch.mkdir(mode=0o700, exist_ok=True)
    written: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(dir=scratch, prefix="redaction-") as work:
        csv_path = Path(work) / "data.csv"
        written["data.csv"] = write_csv(kept, csv_path)
        sink = io.BytesIO()
        pq.write_table(kept, sink, compression="zstd")  # the schema's metadata goes along
        contents = {"data.csv": csv_path.read_bytes(), "data.parquet": sink.getvalue()}
    package = json.loads(_read(folder, "datapackage.json"))
    for resource in package.get("resources", []):
        if resource.get("path") == "data.csv":
            resource["bytes"] = written["data.csv"]["bytes"]
            resource["hash"] = f"sha256:{written['data.csv']['sha256']}"
    contents["datapackage.json"] = (
        json.dumps(package, indent=2, ensure_ascii=False) + "\n"
    ).encode()
    log = _redactions(folder)
    log.append(
        {
            "at": timezone.now().isoformat(),
            "rows_removed": removed,
            "reason": reason,
            "files": ["data.csv", "data.parquet", "datapackage.json"],
        }
    )
    contents["redactions.json"] = (json.dumps(log, indent=2, ensure_ascii=False) + "\n").encode()
    earlier = _current_versions(folder, ("data.csv", "data.parquet", "datapackage.json"))
    for name, content in contents.items():
        files.write_file(system, f"{folder}/{name}", io.BytesIO(content), size=len(content))
    for version_id in earlier:
        files.erase_version(system, version_id, reason=reason)
    with transaction.atomic():
        row = Delivery.objects.select_for_update().get(pk=delivery.pk)
        listed = {f["name"]: f for f in row.files}
        for name, content in contents.items():
            listed[name] = {"name": name, "size": len(content), "sha256": _sha256(content)}
        row.files = list(listed.values())
        row.rows = kept.num_rows
        row.save(update_fields=["files", "rows"])
        record(
            "deliveries.redact",
            actor=system,
            target=folder,
            reason=reason,
            details={"rows_removed": removed},
        )
    return removed


def _redactions(folder: str) -> list[dict[str, Any]]:
    area, path = folder.split("/deliveries/", 1)
    key = path_key(area, f"deliveries/{path}/redactions.json")
    if not Node.objects.filter(key=key, deleted_at__isnull=True).exists():
        return []
    loaded = json.loads(_read(folder, "redactions.json"))
    return list(loaded) if isinstance(loaded, list) else []


def _current_versions(folder: str, names: tuple[str, ...]) -> list[int]:
    area, path = folder.split("/deliveries/", 1)
    keys = [path_key(area, f"deliveries/{path}/{name}") for name in names]
    found = Node.objects.filter(key__in=keys, current__isnull=False)
    return [int(v) for v in found.values_list("current_id", flat=True)]


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
