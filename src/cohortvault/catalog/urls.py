"""The dictionary pages under ``/dictionary/``."""

from django.urls import path

from cohortvault.catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.dictionary, name="dictionary"),
    path("import/", views.import_file, name="import"),
    path("versions/<int:number>/", views.version_page, name="version"),
    path("versions/<int:number>/data-dictionary.<str:fmt>", views.download, name="download"),
]
