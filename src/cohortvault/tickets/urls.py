"""The ticket pages under ``/tickets/``."""

from django.urls import path

from cohortvault.tickets import views

app_name = "tickets"

urlpatterns = [
    path("", views.ticket_list, name="list"),
    path("new/", views.report, name="report"),
    path("<int:number>/", views.ticket_page, name="ticket"),
    path("<int:number>/comment/", views.comment, name="comment"),
    path("<int:number>/attach/", views.attach, name="attach"),
    path("<int:number>/attachments/<int:attachment_id>/", views.attachment, name="attachment"),
    path("<int:number>/state/", views.change_state, name="state"),
]
