"""The project routes: proposals (``proposals``) and projects with their agreements
(``projects``), on one router."""

from cohortvault.projects.api import projects, proposals
from cohortvault.projects.api.common import router

__all__ = ["projects", "proposals", "router"]
