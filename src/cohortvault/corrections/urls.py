"""The correction pages under ``/corrections/``."""

from django.urls import path

from cohortvault.corrections import views

app_name = "corrections"

urlpatterns = [
    path("", views.correction_list, name="list"),
    path("pending/", views.pending, name="pending"),
    path("error-log/", views.error_log, name="error-log"),
    path("withdrawals/", views.withdrawal_list, name="withdrawals"),
    path("withdrawals/record/", views.withdraw, name="withdraw"),
    path("withdrawals/<int:number>/", views.withdrawal_page, name="withdrawal"),
    path("tickets/<int:number>/cells/", views.correct_cells, name="correct-cells"),
    path("tickets/<int:number>/file/", views.correct_with_file, name="correct-file"),
    path("<int:number>/", views.correction_page, name="correction"),
    path("<int:number>/changes/", views.change_log, name="changes"),
    path("<int:number>/redeliver/", views.redeliver, name="redeliver"),
]
