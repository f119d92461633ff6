"""Every URL of the instance; each view declares its access requirement (access.requirements)."""

from django.urls import include, path

from cohortvault.api import api
from cohortvault.governance.urls import enrolment_urlpatterns
from cohortvault.web import views as web_views
from cohortvault.web.admin_site import admin_site

urlpatterns = [
    path("", include("cohortvault.consortium.urls")),
    path("", include("cohortvault.identity.urls")),
    path("webauthn/", include("cohortvault.identity.webauthn_urls")),
    path("audit/", include("cohortvault.audit.urls")),
    path("files/", include("cohortvault.files.urls")),
    path("governance/", include("cohortvault.governance.urls")),
    path("dictionary/", include("cohortvault.catalog.urls")),
    path("datasets/", include("cohortvault.datasets.urls")),
    path("imports/", include("cohortvault.imports.urls")),
    path("deliveries/", include("cohortvault.deliveries.urls")),
    path("projects/", include("cohortvault.projects.urls")),
    path("tickets/", include("cohortvault.tickets.urls")),
    path("corrections/", include("cohortvault.corrections.urls")),
    path("enrol/", include(enrolment_urlpatterns)),
    path("admin/", admin_site.urls),
    path("api/v1/", api.urls),
    path("healthz", web_views.health, name="health"),
]

handler400 = "cohortvault.web.errors.bad_request"
handler403 = "cohortvault.web.errors.permission_denied"
handler404 = "cohortvault.web.errors.not_found"
handler500 = "cohortvault.web.errors.server_error"
