from django.urls import path

from cohortvault.consortium import views

app_name = "consortium"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
