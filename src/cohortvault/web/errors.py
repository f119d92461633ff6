"""Error pages and JSON errors, both showing the request id so support can find the request."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from cohortvault.errors import NotFound, error_body

TITLES = {
    400: "Bad request",
    401: "Sign-in required",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Invalid input",
    429: "Too many attempts",
    500: "Server error",
    507: "Not enough storage",
}
CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid",
    429: "throttled",
    500: "server_error",
    507: "insufficient_storage",
}


def request_id_of(request: HttpRequest) -> str:
    return str(getattr(request, "request_id", ""))


def render_error(request: HttpRequest, *, status: int, message: str = "") -> HttpResponse:
    """The error page (or, under /api/, the JSON error) for ``status``."""
    title = TITLES.get(status, "Error")
    message = message or title + "."
    if request.path.startswith("/api/"):
        body = error_body(
            code=CODES.get(status, "error"), message=message, request_id=request_id_of(request)
        )
        return JsonResponse(body, status=status)
    html = render_to_string(
        "web/error.html",
        {
            "status": status,
            "title": title,
            "message": message,
            "request_id": request_id_of(request),
        },
        request=request,
    )
    return HttpResponse(html, status=status)


def bad_request(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return render_error(request, status=400)


def permission_denied(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return render_error(request, status=403)


def not_found(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return render_error(request, status=404, message=NotFound.default_message)


def server_error(request: HttpRequest) -> HttpResponse:
    return render_error(
        request, status=500, message="Something went wrong on our side. It has been logged."
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render_error(
        request,
        status=403,
        message="The form could not be verified (cross-site request or expired page). "
        "Reload the page and try again.",
    )
