"""The dataset routes of the REST API, one function per route, on the files client's
connection (the same bearer token, errors and timeouts). Like that client it imports httpx and
the standard library only, never Django, so it works on any machine that can reach the server.

Downloads stream into a temporary file next to the destination, which is renamed into place
only once complete: a failed download leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import httpx

from cohortvault.files.client import ClientError, Connection


def _network_error(exc: httpx.TransportError) -> ClientError:
    return ClientError(0, "network", f"connection problem: {exc or type(exc).__name__}")


@dataclass(frozen=True)
class Version:
    site: str
    study: str
    number: int
    rows: int
    columns: int
    column_names: list[str]
    dictionary_version: int | None
    import_id: int | None
    reason: str
    source: str
    created_by: str
    created_at: datetime
    checksum: str
    size: int

    @classmethod
    def of(cls, data: dict[str, Any]) -> Version:
        fields = {k: data[k] for k in cls.__dataclass_fields__}
        fields["created_at"] = datetime.fromisoformat(str(data["created_at"]))
        return cls(**fields)


@dataclass(frozen=True)
class DatasetEntry:
    site: str
    study: str
    name: str
    versions: int
    latest: Version


def route(site: str, study: str, *rest: str) -> str:
    """A dataset route below /api/v1/, its parts quoted."""
    return "/".join(["datasets", quote(site, safe=""), quote(study, safe=""), *rest])


def list_datasets(connection: Connection) -> list[DatasetEntry]:
    return [
        DatasetEntry(
            site=d["site"],
            study=d["study"],
            name=d["name"],
            versions=int(d["versions"]),
            latest=Version.of(d["latest"]),
        )
        for d in connection.get_json("datasets")
    ]


def versions(connection: Connection, site: str, study: str) -> list[Version]:
    """Every version, newest first."""
    return [Version.of(v) for v in connection.get_json(route(site, study, "versions"))]


def version(connection: Connection, site: str, study: str, number: int | None = None) -> Version:
    """One version; the latest without ``number``."""
    if number is None:
        found = versions(connection, site, study)
        if not found:
            raise ClientError(404, "not_found", f"The dataset {site}/{study} has no versions yet.")
        return found[0]
    return Version.of(connection.get_json(route(site, study, "versions", str(number))))


def download(connection: Connection, path: str, sink: IO[bytes], **params: Any) -> int:
    """Stream the answer of ``GET /api/v1/<path>`` into ``sink``; returns the bytes written."""
    written = 0
    with _response(connection, path, params) as response:
        try:
            for piece in response.iter_bytes():
                sink.write(piece)
                written += len(piece)
        except httpx.TransportError as exc:
            raise _network_error(exc) from None
        expected = response.headers.get("content-length") or ""
        whole = "content-encoding" in response.headers or not expected.isdigit()
        if not whole and written != int(expected):
            raise ClientError(
                0, "network", f"the download stopped at {written} of {expected} bytes"
            )
    return written


@contextlib.contextmanager
def _response(
    connection: Connection, path: str, params: dict[str, Any]
) -> Iterator[httpx.Response]:
    try:
        with connection.http.stream("GET", f"{connection.api}/{path}", params=params) as response:
            if not response.is_success:
                response.read()
                raise ClientError.of(response)
            yield response
    except httpx.TransportError as exc:
        raise _network_error(exc) from None


def save_atomically(target: Path, write: Callable[[IO[bytes]], int]) -> int:
    """Call ``write(sink)`` on a temporary file next to ``target`` (mode 0600) and rename it
    into place once ``write`` returned; on any error, remove it. Returns what ``write`` did."""
    descriptor, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name[:100]}.", suffix=".part"
    )
    try:
        with os.fdopen(descriptor, "wb") as sink:
            result = write(sink)
            sink.flush()
            os.fsync(sink.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return result
