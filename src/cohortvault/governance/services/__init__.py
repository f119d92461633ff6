"""Registrations and access changes: the only doors through which accounts appear and group
memberships change. Every step is a recorded decision and an audit entry; the policy's
request rules keep four eyes on each of them (nobody decides their own request, nor one that
concerns themselves).

    registration:   awaiting_confirmation --DPO--> awaiting_approval --administrator--> approved
    access change:  [awaiting_assembly --approver-->] awaiting_approval --administrator--> approved
    any step may refuse (with a reason); an access change may be withdrawn by its requester.
"""

from cohortvault.governance.services.access_changes import (
    decide_access_request,
    request_access_change,
    withdraw_access_request,
)
from cohortvault.governance.services.common import GroupRef, require_fresh
from cohortvault.governance.services.inbox import mark_all_read, mark_read, notifications
from cohortvault.governance.services.reading import (
    AccessRequestDetail,
    MyAccess,
    Queue,
    RegistrationDetail,
    access_request_detail,
    group_choices,
    membership_history,
    membership_state,
    my_access,
    queue,
    registration_detail,
    requested_groups,
    visible_registrations,
    visible_requests,
)
from cohortvault.governance.services.registrations import (
    RegistrationOutcome,
    decide_registration,
    issue_enrolment_code,
    request_registration,
)

__all__ = [
    "AccessRequestDetail",
    "GroupRef",
    "MyAccess",
    "Queue",
    "RegistrationDetail",
    "RegistrationOutcome",
    "access_request_detail",
    "decide_access_request",
    "decide_registration",
    "group_choices",
    "issue_enrolment_code",
    "mark_all_read",
    "mark_read",
    "membership_history",
    "membership_state",
    "my_access",
    "notifications",
    "queue",
    "registration_detail",
    "request_access_change",
    "request_registration",
    "requested_groups",
    "require_fresh",
    "visible_registrations",
    "visible_requests",
    "withdraw_access_request",
]
