"""The governance pages under ``/governance/``, and the public enrolment page (``/enrol/``,
mounted apart because it needs no account)."""

from django.urls import path

from cohortvault.governance import views

app_name = "governance"

urlpatterns = [
    path("", views.my_access, name="my-access"),
    path("queue/", views.queue, name="queue"),
    path("registrations/new/", views.registration_new, name="registration-new"),
    path("registrations/<int:pk>/", views.registration_detail, name="registration"),
    path("registrations/<int:pk>/decision/", views.registration_decide, name="registration-decide"),
    path(
        "accounts/<str:username>/enrolment-code/",
        views.new_enrolment_code,
        name="enrolment-code",
    ),
    path("access/new/", views.access_new, name="access-new"),
    path("access/<int:pk>/", views.access_detail, name="access-request"),
    path("access/<int:pk>/decision/", views.access_decide, name="access-decide"),
    path("access/<int:pk>/withdraw/", views.access_withdraw, name="access-withdraw"),
    path("memberships/", views.membership_history, name="membership-history"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read_all, name="notifications-read-all"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification-read"),
]

#: Mounted at ``/enrol/`` by the root URLconf, in the ``enrolment`` namespace.
enrolment_urlpatterns = (
    [path("<str:code>/", views.enrol, name="enrol")],
    "enrolment",
)
