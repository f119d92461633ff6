"""The import pages under ``/imports/``."""

from django.urls import path

from cohortvault.imports import views

app_name = "imports"

urlpatterns = [
    path("", views.import_list, name="list"),
    path("<int:import_id>/", views.import_page, name="import"),
    path("<int:import_id>/report.<str:fmt>", views.report_download, name="report"),
    path("<int:import_id>/missingness.svg", views.missingness, name="missingness"),
    path("<int:import_id>/<str:decision>/", views.decide, name="decide"),
]
