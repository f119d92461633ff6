"""The project pages under ``/projects/``: proposals first, then one page per project (the
codes ``proposals`` and ``new`` are reserved for that reason)."""

from django.urls import path

from cohortvault.projects import views

app_name = "projects"

urlpatterns = [
    path("", views.proposal_list, name="list"),
    path("proposals/new/", views.proposal_new, name="proposal-new"),
    path("proposals/<int:pk>/", views.proposal_page, name="proposal"),
    path("proposals/<int:pk>/edit/", views.proposal_edit, name="proposal-edit"),
    path("proposals/<int:pk>/submit/", views.proposal_submit, name="proposal-submit"),
    path("proposals/<int:pk>/withdraw/", views.proposal_withdraw, name="proposal-withdraw"),
    path("proposals/<int:pk>/decide/", views.proposal_decide, name="proposal-decide"),
    path("proposals/<int:pk>/notify/", views.proposal_notify, name="proposal-notify"),
    path("proposals/<int:pk>/history/", views.proposal_history, name="proposal-history"),
    path("<slug:code>/", views.project_page, name="project"),
    path("<slug:code>/close/", views.project_close, name="project-close"),
    path("<slug:code>/agreements/<slug:site>/", views.agreement_record, name="agreement-record"),
    path(
        "<slug:code>/agreements/<slug:site>/documents/<int:document>.pdf",
        views.agreement_document,
        name="agreement-document",
    ),
]
