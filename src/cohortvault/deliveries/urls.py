"""The delivery pages under ``/deliveries/<project>/``."""

from django.urls import path

from cohortvault.deliveries import views

app_name = "deliveries"

urlpatterns = [
    path("<slug:code>/", views.delivery_list, name="list"),
    path("<slug:code>/extract/", views.extract, name="extract"),
    path("<slug:code>/diff/", views.diff_page, name="diff"),
    path("<slug:code>/<int:number>/", views.delivery_page, name="delivery"),
]
