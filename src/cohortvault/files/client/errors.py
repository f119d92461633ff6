"""The errors of the client: every refusal and every network problem is a ``ClientError``."""

from __future__ import annotations

from typing import Any

import httpx


class ClientError(Exception):
    """The server refused a request, or could not be reached (``status`` 0)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        request_id: str = "",
        details: list[Any] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.details = details or []
        super().__init__(message)

    def __str__(self) -> str:
        shown = self.message
        if self.details:
            reasons = [d.get("reason") for d in self.details if isinstance(d, dict)]
            if any(reasons):
                shown += " (" + "; ".join(str(r) for r in reasons if r) + ")"
        if self.request_id:
            shown += f" [request {self.request_id}]"
        return shown

    @classmethod
    def of(cls, response: httpx.Response) -> ClientError:
        try:
            error = response.json()["error"]
            return cls(
                response.status_code,
                str(error.get("code", "error")),
                str(error.get("message", "")) or response.reason_phrase,
                str(error.get("request_id", "")),
                list(error.get("details") or []),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return cls(
                response.status_code,
                "error",
                f"HTTP {response.status_code} {response.reason_phrase}",
                response.headers.get("X-Request-ID", ""),
            )


class UnsafeName(ClientError):
    """A remote name that would be written outside the local destination (refused)."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(422, "unsafe_name", f"refused to write {name!r} locally: {why}")


def _retryable(error: ClientError) -> bool:
    """A broken connection, or a chunk the server expected elsewhere: ask where to go on."""
    return error.status == 409 or (error.status == 0 and error.code == "network")


def _network_error(exc: httpx.TransportError) -> ClientError:
    return ClientError(0, "network", f"connection problem: {exc or type(exc).__name__}")
