"""The only doors to imports, for every front door (web, API, CLI and the checker process).

Stage one happens by itself: a tabular file stored in ``sites/<site>/import/`` by any front
door becomes an import (``register``, called from the file service's signal) and is checked
at once (``check``). Stage two is the data manager's: ``accept`` makes a new dataset version
from exactly the checked content, ``reject`` records why. Every function asks the access policy
and writes the audit entry; an import with personal data is reachable only by its uploader and
the data manager, like its file.

- ``registering``: a stored file becomes an import, a deleted one withdraws it;
- ``checking``: quality control of queued imports;
- ``reading``: imports and their reports, as far as the caller may see them;
- ``decisions``: accepting into a dataset version, or rejecting.
"""

from __future__ import annotations

from cohortvault.imports.services.checking import (
    WithdrawnSubjects,
    check,
    check_queued,
    register_withdrawn_subjects,
    requeue_stale,
    withdrawn_subjects,
)
from cohortvault.imports.services.decisions import accept, reject
from cohortvault.imports.services.reading import (
    for_file_version,
    get,
    list_imports,
    may_decide,
    report,
)
from cohortvault.imports.services.records import ImportInfo, State, info_of
from cohortvault.imports.services.registering import TABULAR, is_import, register, withdraw

__all__ = [
    "TABULAR",
    "ImportInfo",
    "State",
    "WithdrawnSubjects",
    "accept",
    "check",
    "check_queued",
    "for_file_version",
    "get",
    "info_of",
    "is_import",
    "list_imports",
    "may_decide",
    "register",
    "register_withdrawn_subjects",
    "reject",
    "report",
    "requeue_stale",
    "withdraw",
    "withdrawn_subjects",
]
