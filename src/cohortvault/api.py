"""The REST API under ``/api/v1/``: one NinjaAPI, one router per domain, one error shape."""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from cohortvault import __version__
from cohortvault.audit.api import router as audit_router
from cohortvault.catalog.api import router as catalog_router
from cohortvault.consortium.api import router as consortium_router
from cohortvault.corrections.api import router as corrections_router
from cohortvault.datasets.api import router as datasets_router
from cohortvault.deliveries.api import router as deliveries_router
from cohortvault.errors import CohortvaultError, NotFound, error_body
from cohortvault.files.api import router as files_router
from cohortvault.governance.api import router as governance_router
from cohortvault.identity.api import router as identity_router
from cohortvault.identity.api import tokens_router
from cohortvault.identity.auth import BearerToken, VerifiedSession
from cohortvault.imports.api import router as imports_router
from cohortvault.projects.api import router as projects_router
from cohortvault.tickets.api import router as tickets_router
from cohortvault.web.errors import CODES, request_id_of

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="cohortvault API",
    version=__version__,
    description=(
        "Every operation of cohortvault for scripts. Authenticate with a bearer token from "
        "`POST /auth/token` (username, password and a current one-time code). Errors share one "
        'shape: `{"error": {"code", "message", "request_id", "details"?}}`.'
    ),
    urls_namespace="api",
    auth=[BearerToken(), VerifiedSession()],
    docs_url="/docs",
    openapi_url="/openapi.json",
)
api.add_router("/auth", identity_router)
api.add_router("/tokens", tokens_router)
api.add_router("", consortium_router)
api.add_router("/audit", audit_router)
api.add_router("", files_router)
api.add_router("", governance_router)
api.add_router("/dictionary", catalog_router)
api.add_router("/datasets", datasets_router)
api.add_router("/imports", imports_router)
api.add_router("", deliveries_router)
api.add_router("", projects_router)
api.add_router("/tickets", tickets_router)
api.add_router("", corrections_router)


def _error(
    request: HttpRequest, status: int, code: str, message: str, details: list[object] | None = None
) -> HttpResponse:
    return api.create_response(
        request,
        error_body(code=code, message=message, request_id=request_id_of(request), details=details),
        status=status,
    )


@api.exception_handler(CohortvaultError)
def on_service_error(request: HttpRequest, exc: CohortvaultError) -> HttpResponse:
    return _error(request, exc.status, exc.code, exc.message, exc.details)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return _error(request, 422, "invalid", "The request is not valid.", list(exc.errors))


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "not_authenticated", "A valid bearer token or session is required.")


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, NotFound.code, NotFound.default_message)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, CODES.get(exc.status_code, "error"), str(exc))


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("unhandled API error (request %s)", request_id_of(request))
    return _error(
        request, 500, "server_error", "Something went wrong on our side. It has been logged."
    )
