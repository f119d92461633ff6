"""The only doors to error tickets, for every front door (pages, API, command line) and for the
``corrections`` app, which records its corrections here.

Who may do what is the policy's ``Ticket`` rule: anyone reports; the reporter, the members of
the site the ticket is about and the data managers read, comment and attach; the data managers
alone change a ticket's state. A ticket the caller may not see answers like a missing one.
Every call writes its audit entry; every change is also an ``Event`` of the ticket's history
and a notification to the people following it.
"""

from __future__ import annotations

from cohortvault.tickets.services.common import may_triage
from cohortvault.tickets.services.decisions import (
    change_state,
    record_correction,
    record_redelivery,
    ticket_for_correction,
)
from cohortvault.tickets.services.discussion import (
    MAX_ATTACHMENT_SIZE,
    attach,
    attachment,
    comment,
)
from cohortvault.tickets.services.records import (
    AttachmentDownload,
    AttachmentInfo,
    EventInfo,
    State,
    TicketInfo,
)
from cohortvault.tickets.services.reporting import get, list_tickets, report

__all__ = [
    "MAX_ATTACHMENT_SIZE",
    "AttachmentDownload",
    "AttachmentInfo",
    "EventInfo",
    "State",
    "TicketInfo",
    "attach",
    "attachment",
    "change_state",
    "comment",
    "get",
    "list_tickets",
    "may_triage",
    "record_correction",
    "record_redelivery",
    "report",
    "ticket_for_correction",
]
