"""The exceptions service functions raise, and how each front door shows them.

    CohortvaultError
    ├── NotAuthenticated     401  no valid session or token
    ├── PermissionDenied     403  the policy refused (only for things the caller may know about)
    ├── NotFound             404  missing, or exists but the caller may not know it does
    ├── Conflict             409  the state changed underneath, or it already exists
    ├── Invalid              422  the input is wrong; ``details`` says where
    ├── Throttled            429  too many attempts; try again later
    └── DisclosureRisk       422  an answer or export would reveal individual-level data

The web layer renders them as an error page with the request id; the API as one JSON shape::

    {"error": {"code": "not_found", "message": "...", "request_id": "...", "details": [...]}}
"""

from __future__ import annotations

from typing import Any


class CohortvaultError(Exception):
    status = 500
    code = "server_error"
    default_message = "Something went wrong."

    def __init__(self, message: str | None = None, *, details: list[Any] | None = None) -> None:
        self.message = message or self.default_message
        self.details = details or []
        super().__init__(self.message)


class NotAuthenticated(CohortvaultError):
    status = 401
    code = "not_authenticated"
    default_message = "Authentication required."


class PermissionDenied(CohortvaultError):
    status = 403
    code = "permission_denied"
    default_message = "You are not allowed to do this."


class NotFound(CohortvaultError):
    status = 404
    code = "not_found"
    default_message = "There is nothing here, or you may not see it."


class Conflict(CohortvaultError):
    status = 409
    code = "conflict"
    default_message = "This conflicts with the current state."


class Invalid(CohortvaultError):
    status = 422
    code = "invalid"
    default_message = "The input is not valid."


class Throttled(CohortvaultError):
    status = 429
    code = "throttled"
    default_message = "Too many attempts; try again later."


class DisclosureRisk(CohortvaultError):
    status = 422
    code = "disclosure_risk"
    default_message = "The answer would disclose individual-level data."


def error_body(
    *, code: str, message: str, request_id: str, details: list[Any] | None = None
) -> dict[str, Any]:
    """The one JSON error shape of the API."""
    body: dict[str, Any] = {"code": code, "message": message, "request_id": request_id}
    if details:
        body["details"] = details
    return {"error": body}
