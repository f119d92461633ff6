"""The project lifecycle's doors, for every front door (pages, API, command line) and for the
extraction, which calls ``extraction_blockers`` and ``grant`` before it runs::

    draft ──submit──▶ submitted ──approver──▶ approved ──agreement expires / administrator──▶ closed
      │                  │        (four eyes)    │ project, pending agreements, access requests
      └──withdraw──▶ withdrawn ◀──┘             ╰─▶ rejected (from submitted)

Every function asks the access policy (refusals are audited by ``authorize``), checks its whole
input before writing anything (refused input is audited too), and records each change of a
proposal as a ``ProposalEvent`` with its audit entry, in one transaction.
"""

from cohortvault.projects.services.agreements import (
    MAX_DOCUMENT_BYTES,
    AgreementInput,
    DocumentDownload,
    Grant,
    agreement_is_valid,
    extraction_blockers,
    grant,
    read_document,
    record_agreement,
    store_document,
)
from cohortvault.projects.services.availability import SiteAvailability, availability
from cohortvault.projects.services.common import SMALL_COUNT, policy_request, visible_proposals
from cohortvault.projects.services.decisions import (
    DecisionInput,
    decide_proposal,
    notify_data_manager,
)
from cohortvault.projects.services.ending import (
    close_project,
    enforce_agreements,
    purge_expired_agreements,
)
from cohortvault.projects.services.project import AgreementRow, ProjectDetail, project_detail
from cohortvault.projects.services.proposals import (
    ProposalInput,
    create_proposal,
    submit_proposal,
    update_proposal,
    withdraw_proposal,
)
from cohortvault.projects.services.reading import (
    Choices,
    ProposalDetail,
    View,
    choices,
    history,
    proposal_detail,
    proposals,
)

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "SMALL_COUNT",
    "AgreementInput",
    "AgreementRow",
    "Choices",
    "DecisionInput",
    "DocumentDownload",
    "Grant",
    "ProjectDetail",
    "ProposalDetail",
    "ProposalInput",
    "SiteAvailability",
    "View",
    "agreement_is_valid",
    "availability",
    "choices",
    "close_project",
    "create_proposal",
    "decide_proposal",
    "enforce_agreements",
    "extraction_blockers",
    "grant",
    "history",
    "notify_data_manager",
    "policy_request",
    "project_detail",
    "proposal_detail",
    "proposals",
    "purge_expired_agreements",
    "read_document",
    "record_agreement",
    "store_document",
    "submit_proposal",
    "update_proposal",
    "visible_proposals",
    "withdraw_proposal",
]
