from django.urls import path

from cohortvault.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.trail, name="trail"),
    path("trail.csv", views.trail_csv, name="trail-csv"),
]
