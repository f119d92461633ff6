"""The file browser's pages. Folder pages end with ``/``; without it, a path is a file's page."""

from django.urls import path

from cohortvault.files import views

app_name = "files"

urlpatterns = [
    path("", views.area_list, name="areas"),
    path("download/<path:path>", views.download, name="download"),
    path("upload/<path:path>", views.upload, name="upload"),
    path("new-folder/<path:path>", views.new_folder, name="new-folder"),
    path("move/<path:path>", views.move, name="move"),
    path("delete/<path:path>", views.delete, name="delete"),
    path("restore/<path:path>", views.restore, name="restore"),
    path("deleted/<path:path>/", views.recently_deleted, name="deleted"),
    path("<path:path>/", views.folder, name="folder"),
    path("<path:path>", views.file_page, name="file"),
]
