from django.urls import path

from cohortvault.identity import views

app_name = "identity"

urlpatterns = [
    path("login/", views.login, name="login"),
    path("login/verify/", views.verify, name="verify"),
    path("account/enrol/", views.enrol, name="enrol"),
    path("account/security/", views.security, name="security"),
    path("account/recovery-codes/", views.recovery_codes, name="recovery-codes"),
    path("logout/", views.logout, name="logout"),
]
