"""One request per method: the files routes of the REST API, with their paths quoted and their
answers parsed, streaming in constant memory."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Self
from urllib.parse import quote

import httpx

from cohortvault import __version__
from cohortvault.files.client.errors import ClientError, _network_error
from cohortvault.files.client.records import (
    AreaInfo,
    Entry,
    Listing,
    Token,
    UploadState,
    Version,
    _time,
)

MiB = 1024 * 1024
DEFAULT_CHUNK_SIZE = 64 * MiB
PIECE = 1 * MiB
DOWNLOAD_THREADS = 4
TIMEOUT = httpx.Timeout(connect=15.0, read=600.0, write=600.0, pool=60.0)

Progress = Callable[[int], None]


def _no_progress(_: int) -> None:
    pass


# --- paths ----------------------------------------------------------------------------------


def quote_path(path: str) -> str:
    """Percent-encode an area path for a URL, segment by segment.

    Dot segments are encoded too, so that no layer between here and the server (httpx itself
    removes ``..`` from URLs) resolves them: the server sees the path as typed, and refuses it.
    Control characters, which the server refuses anyway and which a line break would keep
    from even reaching its file routes, are refused here.
    """
    for char in path:
        if ord(char) < 32 or ord(char) == 127:
            raise ClientError(
                422, "invalid", f"Not a valid path: control character U+{ord(char):04X}."
            )
    segments = []
    for segment in path.split("/"):
        quoted = quote(segment, safe="")
        if quoted and set(quoted) == {"."}:
            quoted = "%2E" * len(quoted)
        segments.append(quoted)
    return "/".join(segments)


def join(folder: str, name: str) -> str:
    return f"{folder.removesuffix('/')}/{name}"


# --- streaming helpers ----------------------------------------------------------------------


def _pieces(source: IO[bytes], length: int, progress: Progress) -> Iterator[bytes]:
    """Exactly ``length`` bytes of ``source``, in pieces (a shorter file is an error)."""
    left = length
    while left > 0:
        piece = source.read(min(PIECE, left))
        if not piece:
            raise ClientError(0, "local_changed", "the local file got shorter while sending it")
        left -= len(piece)
        progress(len(piece))
        yield piece


def request_token(server: str, username: str, password: str, otp: str) -> Token:
    """Exchange username, password and a current one-time code for a bearer token."""
    try:
        with httpx.Client(timeout=TIMEOUT, headers=_headers()) as http:
            response = http.post(
                f"{server.rstrip('/')}/api/v1/auth/token",
                json={"username": username, "password": password, "otp": otp},
            )
    except httpx.TransportError as exc:
        raise _network_error(exc) from None
    if not response.is_success:
        raise ClientError.of(response)
    data = response.json()
    return Token(token=str(data["token"]), expires_at=_time(data.get("expires_at")))


def _headers(token: str | None = None) -> dict[str, str]:
    headers = {"User-Agent": f"cohortvault-client/{__version__}"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


# --- the connection -------------------------------------------------------------------------


class Connection:
    """The files routes of one server as one user (their bearer token), one request each.

    ``Client`` builds the transfers of whole files and folders on it, and documents the
    arguments.
    """

    def __init__(
        self,
        server: str,
        token: str,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        state_dir: Path | None = None,
        stop_after_chunks: int | None = None,
        download_threads: int = DOWNLOAD_THREADS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if chunk_size < 1 or download_threads < 1:
            raise ValueError("chunk_size and download_threads must be positive")
        self.download_threads = download_threads
        self.server = server.rstrip("/")
        self.api = f"{self.server}/api/v1"
        self.chunk_size = chunk_size
        self.state_dir = state_dir
        self.stop_after_chunks = stop_after_chunks
        self.http = httpx.Client(
            timeout=TIMEOUT, headers=_headers(token), transport=transport, follow_redirects=False
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing ---------------------------------------------------------------------------

    def _url(self, route: str, path: str | None = None) -> str:
        return f"{self.api}/{route}" + (f"/{quote_path(path)}" if path is not None else "")

    def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise _network_error(exc) from None
        if not response.is_success:
            raise ClientError.of(response)
        return response

    def _json(self, method: str, url: str, **kwargs: Any) -> Any:
        return self._call(method, url, **kwargs).json()

    # --- other domains' routes (imports, datasets): ``route`` below /api/v1/, already quoted -

    def get_json(self, route: str, **params: Any) -> Any:
        wanted = {k: v for k, v in params.items() if v is not None}
        return self._json("GET", f"{self.api}/{route}", params=wanted or None)

    def post_json(self, route: str, payload: dict[str, Any]) -> Any:
        return self._json("POST", f"{self.api}/{route}", json=payload)

    def get_text(self, route: str, **params: Any) -> str:
        wanted = {k: v for k, v in params.items() if v is not None}
        return self._call("GET", f"{self.api}/{route}", params=wanted or None).text

    def put_body(
        self,
        route: str,
        source: IO[bytes],
        size: int,
        *,
        progress: Progress = _no_progress,
        content_type: str = "application/octet-stream",
        **params: Any,
    ) -> Any:
        """Send ``size`` bytes of ``source`` as the streamed body of ``PUT route``; its JSON."""
        wanted = {k: v for k, v in params.items() if v is not None}
        return self._json(
            "PUT",
            f"{self.api}/{route}",
            params=wanted or None,
            content=_pieces(source, size, progress),
            headers={"Content-Length": str(size), "Content-Type": content_type},
        )

    # --- one request each -------------------------------------------------------------------

    def areas(self) -> list[AreaInfo]:
        """The areas this user can reach, with what they may do there."""
        data = self._json("GET", f"{self.api}/me")
        return [
            AreaInfo(path=a["path"], kind=a["kind"], permissions=list(a["permissions"]))
            for a in data["areas"]
        ]

    def list_folder(self, path: str) -> Listing:
        data = self._json("GET", self._url("list", path))
        return Listing(Entry.of(data["folder"]), [Entry.of(e) for e in data["entries"]])

    def stat(self, path: str) -> Entry:
        return Entry.of(self._json("GET", self._url("stat", path)))

    def delete(self, path: str) -> Entry:
        return Entry.of(self._json("DELETE", self._url("files", path)))

    def make_folder(self, path: str) -> Entry:
        return Entry.of(self._json("POST", self._url("folders", path)))

    def move(self, source: str, target: str) -> Entry:
        payload = {"source": source, "target": target}
        return Entry.of(self._json("POST", f"{self.api}/move", json=payload))

    def versions(self, path: str) -> list[Version]:
        return [Version.of(v) for v in self._json("GET", self._url("versions", path))]

    def deleted(self, path: str) -> list[Entry]:
        return [Entry.of(e) for e in self._json("GET", self._url("deleted", path))]

    def restore(self, path: str, *, version: int | None = None) -> Entry:
        payload = {"version": version}
        return Entry.of(self._json("POST", self._url("restore", path), json=payload))

    def revoke_token(self) -> None:
        self._call("DELETE", f"{self.api}/auth/token")

    def put_stream(
        self, remote: str, source: IO[bytes], size: int, progress: Progress = _no_progress
    ) -> Entry:
        """Store ``size`` bytes of ``source`` as ``remote`` in one streamed request."""
        data = self._json(
            "PUT",
            self._url("files", remote),
            content=_pieces(source, size, progress),
            headers={"Content-Length": str(size), "Content-Type": "application/octet-stream"},
        )
        return Entry.of(data)

    def batch(self, folder: str, tar: IO[bytes], size: int) -> list[Entry]:
        """Store every file of a tar stream under ``folder``, all or nothing."""
        data = self._json(
            "POST",
            self._url("batch", folder),
            content=_pieces(tar, size, _no_progress),
            headers={"Content-Length": str(size), "Content-Type": "application/x-tar"},
        )
        return [Entry.of(e) for e in data]

    # --- resumable uploads ------------------------------------------------------------------

    def start_upload(self, remote: str, size: int) -> UploadState:
        data = self._json("POST", f"{self.api}/uploads", json={"path": remote, "size": size})
        return UploadState(str(data["id"]), int(data["offset"]))

    def upload_state(self, upload_id: str) -> UploadState:
        data = self._json("GET", self._url("uploads", upload_id))
        return UploadState(str(data["id"]), int(data["offset"]))

    def append_upload(
        self,
        upload_id: str,
        *,
        offset: int,
        source: IO[bytes],
        length: int,
        progress: Progress = _no_progress,
    ) -> UploadState:
        data = self._json(
            "PUT",
            self._url("uploads", upload_id),
            params={"offset": offset},
            content=_pieces(source, length, progress),
            headers={"Content-Length": str(length), "Content-Type": "application/octet-stream"},
        )
        return UploadState(str(data["id"]), int(data["offset"]))

    def complete_upload(self, upload_id: str) -> Entry:
        return Entry.of(self._json("POST", f"{self._url('uploads', upload_id)}/complete"))

    def abort_upload(self, upload_id: str) -> None:
        self._call("DELETE", self._url("uploads", upload_id))

    # --- downloads --------------------------------------------------------------------------

    @contextlib.contextmanager
    def open_download(self, remote: str, *, version: int | None = None) -> Iterator[httpx.Response]:
        """The response of a file download, to stream from (an error if ``remote`` is a folder)."""
        params = {"version": version} if version is not None else None
        try:
            with self.http.stream("GET", self._url("files", remote), params=params) as response:
                if not response.is_success:
                    response.read()
                    raise ClientError.of(response)
                if response.headers.get("content-type", "").startswith("application/json"):
                    raise ClientError(
                        422, "is_folder", f"{remote} is a folder; download it recursively"
                    )
                yield response
        except httpx.TransportError as exc:
            raise _network_error(exc) from None

    def download_to(
        self,
        remote: str,
        sink: IO[bytes],
        *,
        version: int | None = None,
        progress: Progress = _no_progress,
        on_start: Callable[[int | None], None] | None = None,
    ) -> int:
        """Stream a file's content into ``sink``; returns the number of bytes."""
        with self.open_download(remote, version=version) as response:
            expected = response.headers.get("content-length")
            size = int(expected) if expected and expected.isdigit() else None
            if on_start is not None:
                on_start(size)
            written = 0
            try:
                for piece in response.iter_bytes():
                    sink.write(piece)
                    written += len(piece)
                    progress(len(piece))
            except httpx.TransportError as exc:
                raise _network_error(exc) from None
            if size is not None and written != size and "content-encoding" not in response.headers:
                raise ClientError(
                    0, "network", f"the download stopped at {written} of {size} bytes"
                )
        return written
