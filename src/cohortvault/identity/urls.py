from django.urls import path

from cohortvault.identity import token_views, views

app_name = "identity"

urlpatterns = [
    path("login/", views.login, name="login"),
    path("login/verify/", views.verify, name="verify"),
    path("account/enrol/", views.enrol, name="enrol"),
    path("account/security/", views.security, name="security"),
    path("account/recovery-codes/", views.recovery_codes, name="recovery-codes"),
    path("account/reauthenticate/", views.reauthenticate, name="reauthenticate"),
    path(
        "account/authenticators/<int:device_id>/remove/",
        views.remove_authenticator,
        name="authenticator-remove",
    ),
    path("account/security-keys/add/", views.add_security_key, name="security-key-add"),
    path("account/security-keys/added/", views.security_key_added, name="security-key-added"),
    path(
        "account/security-keys/<int:key_id>/rename/",
        views.rename_security_key,
        name="security-key-rename",
    ),
    path(
        "account/security-keys/<int:key_id>/revoke/",
        views.revoke_security_key,
        name="security-key-revoke",
    ),
    path("logout/", views.logout, name="logout"),
    path("account/tokens/", token_views.token_list, name="tokens"),
    path("account/tokens/new/", token_views.create, name="token-create"),
    path("account/tokens/<int:token_id>/revoke/", token_views.revoke, name="token-revoke"),
]
