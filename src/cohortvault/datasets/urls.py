"""The dataset pages under ``/datasets/``."""

from django.urls import path

from cohortvault.datasets import views

app_name = "datasets"

urlpatterns = [
    path("", views.dataset_list, name="list"),
    path("<slug:site>/<slug:study>/", views.version_log, name="log"),
    path("<slug:site>/<slug:study>/diff/", views.diff_page, name="diff"),
    path("<slug:site>/<slug:study>/diff.<str:fmt>", views.diff_download, name="diff-download"),
    path("<slug:site>/<slug:study>/<int:number>/", views.version_page, name="version"),
    path(
        "<slug:site>/<slug:study>/<int:number>/export.<str:fmt>",
        views.export_download,
        name="export",
    ),
]
