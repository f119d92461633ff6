"""The WebAuthn ceremony endpoints under django-otp-webauthn's own namespace and names, so the
package's template tags and JavaScript configuration find them; each one is cohortvault's
wrapped view (see ``identity.webauthn``)."""

from django.urls import path

from cohortvault.identity import webauthn

app_name = "otp_webauthn"

urlpatterns = [
    path(
        "registration/begin/",
        webauthn.begin_registration,
        name="credential-registration-begin",
    ),
    path(
        "registration/complete/",
        webauthn.complete_registration,
        name="credential-registration-complete",
    ),
    path(
        "authentication/begin/",
        webauthn.begin_authentication,
        name="credential-authentication-begin",
    ),
    path(
        "authentication/complete/",
        webauthn.complete_authentication,
        name="credential-authentication-complete",
    ),
    path("jsi18n/", webauthn.javascript_catalog, name="js-i18n-catalog"),
]
