"""The governance pages: registrations and their enrolment letters, access changes, the
decision queue, my access, the membership history, notifications, and the public enrolment
page. Each view parses its input, calls one service of ``governance.services`` (which checks
the policy, keeps four eyes and writes the audit entry) and renders the result."""

from cohortvault.governance.views.access import (
    access_decide,
    access_detail,
    access_new,
    access_withdraw,
)
from cohortvault.governance.views.enrolment import enrol
from cohortvault.governance.views.overview import (
    membership_history,
    my_access,
    notification_read,
    notifications,
    notifications_read_all,
    queue,
)
from cohortvault.governance.views.registrations import (
    new_enrolment_code,
    registration_decide,
    registration_detail,
    registration_new,
)

__all__ = [
    "access_decide",
    "access_detail",
    "access_new",
    "access_withdraw",
    "enrol",
    "membership_history",
    "my_access",
    "new_enrolment_code",
    "notification_read",
    "notifications",
    "notifications_read_all",
    "queue",
    "registration_decide",
    "registration_detail",
    "registration_new",
]
