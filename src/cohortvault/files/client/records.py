"""What the server answers, as plain records, and what a recursive transfer reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cohortvault.files.client.errors import ClientError


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Entry:
    """A file or folder as the server describes it."""

    path: str
    name: str
    kind: str
    size: int | None
    modified_at: datetime | None
    modified_by: str
    version: int | None
    deleted_at: datetime | None = None

    @property
    def is_folder(self) -> bool:
        return self.kind == "folder"

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Entry:
        return cls(
            path=str(data["path"]),
            name=str(data["name"]),
            kind=str(data["kind"]),
            size=data.get("size"),
            modified_at=_time(data.get("modified_at")),
            modified_by=str(data.get("modified_by") or ""),
            version=data.get("version"),
            deleted_at=_time(data.get("deleted_at")),
        )


@dataclass(frozen=True)
class Listing:
    folder: Entry
    entries: list[Entry]


@dataclass(frozen=True)
class Version:
    id: int
    size: int
    created_at: datetime | None
    created_by: str
    note: str
    current: bool
    restorable_until: datetime | None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Version:
        return cls(
            id=int(data["id"]),
            size=int(data["size"]),
            created_at=_time(data.get("created_at")),
            created_by=str(data.get("created_by") or ""),
            note=str(data.get("note") or ""),
            current=bool(data.get("current")),
            restorable_until=_time(data.get("restorable_until")),
        )


@dataclass(frozen=True)
class UploadState:
    id: str
    offset: int


@dataclass(frozen=True)
class Token:
    token: str
    expires_at: datetime | None


@dataclass(frozen=True)
class AreaInfo:
    path: str
    kind: str
    permissions: list[str]


@dataclass(frozen=True)
class TreeFile:
    """A local file of a recursive upload and its name under the remote folder."""

    local: Path
    name: str
    size: int


@dataclass
class TreeReport:
    """What a recursive transfer did: files moved, and what failed (name, error)."""

    files: int = 0
    bytes: int = 0
    failed: list[tuple[str, ClientError]] = field(default_factory=list)
