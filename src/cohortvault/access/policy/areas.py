"""The area model: the folders of DESIGN.md that data lives in, and their root paths.

Storage maps areas to paths and the rules decide on them, so the model stands alone and
imports neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum


class AreaKind(StrEnum):
    HOME = "home"
    SITE_DATA = "site_data"
    SITE_IMPORT = "site_import"
    PROJECT = "project"
    LOGS = "logs"
    EXPORT_OUTBOX = "export_outbox"


@dataclass(frozen=True)
class Area:
    """One area of the folder model; ``key`` names the user, site, project or export request."""

    kind: AreaKind
    key: str = ""
    requester: str = field(default="", compare=False)
    approved: bool = field(default=False, compare=False)
    #: A file in the area that quality control found personal data in: only this uploader
    #: (and the data manager) may reach it until it is deleted.
    locked_to: str = field(default="", compare=False)
    #: A project's ``deliveries/`` folder: immutable, written by the platform alone.
    sealed: bool = field(default=False, compare=False)

    @classmethod
    def home(cls, username: str) -> Area:
        return cls(AreaKind.HOME, username)

    @classmethod
    def site_data(cls, site: str) -> Area:
        return cls(AreaKind.SITE_DATA, site)

    @classmethod
    def site_import(cls, site: str) -> Area:
        return cls(AreaKind.SITE_IMPORT, site)

    @classmethod
    def project(cls, project: str) -> Area:
        return cls(AreaKind.PROJECT, project)

    @classmethod
    def logs(cls) -> Area:
        return cls(AreaKind.LOGS)

    @classmethod
    def export_outbox(cls, request: str, *, requester: str, approved: bool) -> Area:
        return cls(AreaKind.EXPORT_OUTBOX, request, requester=requester, approved=approved)

    def locked(self, uploader: str) -> Area:
        """The same area, as seen for a file locked to ``uploader``."""
        return replace(self, locked_to=uploader)

    def sealing(self) -> Area:
        """The same area, as seen for its sealed part (a project's deliveries)."""
        return replace(self, sealed=True)

    @property
    def path(self) -> str:
        """The area's root path in the folder model of DESIGN.md."""
        match self.kind:
            case AreaKind.HOME:
                return f"home/{self.key}"
            case AreaKind.SITE_DATA:
                return f"sites/{self.key}/data"
            case AreaKind.SITE_IMPORT:
                return f"sites/{self.key}/import"
            case AreaKind.PROJECT:
                return f"projects/{self.key}"
            case AreaKind.LOGS:
                return "logs"
            case AreaKind.EXPORT_OUTBOX:
                return f"exports/{self.key}"

    def __str__(self) -> str:
        return self.path
