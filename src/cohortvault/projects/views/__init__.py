"""The project pages. Each view parses its input, calls one function of
``projects.services`` (which checks the policy, keeps four eyes and writes the audit entry) and
renders the result."""

from cohortvault.projects.views.projects import (
    agreement_document,
    agreement_record,
    project_close,
    project_page,
)
from cohortvault.projects.views.proposals import (
    proposal_decide,
    proposal_edit,
    proposal_history,
    proposal_list,
    proposal_new,
    proposal_notify,
    proposal_page,
    proposal_submit,
    proposal_withdraw,
)

__all__ = [
    "agreement_document",
    "agreement_record",
    "project_close",
    "project_page",
    "proposal_decide",
    "proposal_edit",
    "proposal_history",
    "proposal_list",
    "proposal_new",
    "proposal_notify",
    "proposal_page",
    "proposal_submit",
    "proposal_withdraw",
]
