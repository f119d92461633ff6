"""A client for the files routes of cohortvault's REST API, for the command line and scripts.

It talks to a server with a bearer token and never opens an instance: it imports httpx and the
standard library only (no Django, no cohortvault module that needs Django), so it works on any
machine that can reach the server.

    ClientError               every answer outside 2xx, in the API's one error shape
    │                         (status, code, message, request_id, details); status 0 when the
    │                         server could not be reached or the connection broke
    └── UnsafeName            a name from the server that would land outside a local folder

Transfers stream in constant memory. A file larger than ``chunk_size`` goes through the
resumable upload protocol, and the upload's id is kept in a small state file (keyed by server,
remote path, local path, size and modification time), so that running the same upload again
after an interruption continues from the server's offset. Many small files travel together as
tar batches, one request per batch. Downloads land in a temporary file next to the destination
and are renamed into place only when complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PureWindowsPath
from typing import IO, Any
from urllib.parse import quote

import httpx

from cohortvault import __version__

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "Client",
    "ClientError",
    "Entry",
    "Listing",
    "TreeFile",
    "TreeReport",
    "UnsafeName",
    "local_target",
    "request_token",
]

MiB = 1024 * 1024
DEFAULT_CHUNK_SIZE = 64 * MiB
BATCH_FILES = 1000
BATCH_BYTES = 64 * MiB
PIECE = 1 * MiB
SPOOL_IN_MEMORY = 8 * MiB
DOWNLOAD_THREADS = 4
TIMEOUT = httpx.Timeout(connect=15.0, read=600.0, write=600.0, pool=60.0)

Progress = Callable[[int], None]


def _no_progress(_: int) -> None:
    pass


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


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Entry:
    """A file or folder as the server describes it."""

    path: str
    name: str
    kind: str
    size: int | None
    modified_at: datetime | None
    modified_by: str
    version: int | None
    deleted_at: datetime | None = None

    @property
    def is_folder(self) -> bool:
        return self.kind == "folder"

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Entry:
        return cls(
            path=str(data["path"]),
            name=str(data["name"]),
            kind=str(data["kind"]),
            size=data.get("size"),
            modified_at=_time(data.get("modified_at")),
            modified_by=str(data.get("modified_by") or ""),
            version=data.get("version"),
            deleted_at=_time(data.get("deleted_at")),
        )


@dataclass(frozen=True)
class Listing:
    folder: Entry
    entries: list[Entry]


@dataclass(frozen=True)
class Version:
    id: int
    size: int
    created_at: datetime | None
    created_by: str
    note: str
    current: bool
    restorable_until: datetime | None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Version:
        return cls(
            id=int(data["id"]),
            size=int(data["size"]),
            created_at=_time(data.get("created_at")),
            created_by=str(data.get("created_by") or ""),
            note=str(data.get("note") or ""),
            current=bool(data.get("current")),
            restorable_until=_time(data.get("restorable_until")),
        )


@dataclass(frozen=True)
class UploadState:
    id: str
    offset: int


@dataclass(frozen=True)
class Token:
    token: str
    expires_at: datetime | None


@dataclass(frozen=True)
class AreaInfo:
    path: str
    kind: str
    permissions: list[str]


@dataclass(frozen=True)
class TreeFile:
    """A local file of a recursive upload and its name under the remote folder."""

    local: Path
    name: str
    size: int


@dataclass
class TreeReport:
    """What a recursive transfer did: files moved, and what failed (name, error)."""

    files: int = 0
    bytes: int = 0
    failed: list[tuple[str, ClientError]] = field(default_factory=list)


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


def local_target(root: Path, name: str) -> Path:
    """Where the remote relative ``name`` (``/``-separated) lands under ``root``.

    Defence in depth for downloads: the server checks its paths, and this refuses whatever
    could still leave ``root`` (``..``, absolute or drive paths, backslashes, NUL and control
    characters), then checks the joined path really is inside ``root``.
    """
    if not name:
        raise UnsafeName(name, "empty name")
    if "\x00" in name or any(ord(char) < 32 or ord(char) == 127 for char in name):
        raise UnsafeName(name, "control character")
    if "\\" in name or name.startswith("/") or PureWindowsPath(name).drive or os.path.isabs(name):
        raise UnsafeName(name, "absolute path or foreign separator")
    parts = name.split("/")
    if any(part in {"", ".", ".."} for part in parts):
        raise UnsafeName(name, "empty, '.' or '..' segment")
    base = os.path.abspath(root)
    candidate = os.path.normpath(os.path.join(base, *parts))
    if candidate == base or os.path.commonpath([base, candidate]) != base:
        raise UnsafeName(name, "leaves the destination folder")
    return Path(candidate)


def _inside_real(root: Path, folder: Path) -> None:
    """Refuse a folder that resolves (through symbolic links) outside ``root``."""
    real_root, real = os.path.realpath(root), os.path.realpath(folder)
    if os.path.commonpath([real_root, real]) != real_root:
        raise UnsafeName(str(folder), "a symbolic link leads outside the destination folder")


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


def _retryable(error: ClientError) -> bool:
    """A broken connection, or a chunk the server expected elsewhere: ask where to go on."""
    return error.status == 409 or (error.status == 0 and error.code == "network")


def _network_error(exc: httpx.TransportError) -> ClientError:
    return ClientError(0, "network", f"connection problem: {exc or type(exc).__name__}")


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


# --- the client -----------------------------------------------------------------------------


class Client:
    """The REST API of one server, as one user (their bearer token).

    ``state_dir`` keeps the ids of unfinished resumable uploads; without it an interrupted
    upload starts over. ``download_threads`` files of a recursive download travel at once.
    ``stop_after_chunks`` interrupts an upload after that many chunks as Ctrl-C would (for
    tests of resuming).
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

    def __enter__(self) -> Client:
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

    def _state_file(self, remote: str, local: Path, size: int, mtime_ns: int) -> Path | None:
        if self.state_dir is None:
            return None
        key = json.dumps([self.server, remote, str(local), size, mtime_ns])
        return self.state_dir / f"{hashlib.sha256(key.encode()).hexdigest()}.json"

    def _saved_upload(self, state: Path | None) -> UploadState | None:
        if state is None or not state.exists():
            return None
        try:
            upload_id = str(json.loads(state.read_text())["id"])
            return self.upload_state(upload_id)
        except (ValueError, KeyError, TypeError, OSError):
            state.unlink(missing_ok=True)
        except ClientError as exc:
            if exc.status != 404:
                raise
            state.unlink(missing_ok=True)  # finished, aborted or expired: start again
        return None

    def _forget_stale(self, remote: str, local: Path) -> None:
        """Abort earlier uploads of the same file that no longer match it (it changed)."""
        if self.state_dir is None or not self.state_dir.is_dir():
            return
        for state in self.state_dir.glob("*.json"):
            try:
                saved = json.loads(state.read_text())
            except (ValueError, OSError):
                continue
            if [saved.get("server"), saved.get("remote"), saved.get("local")] == [
                self.server,
                remote,
                str(local),
            ]:
                with contextlib.suppress(ClientError):
                    self.abort_upload(str(saved.get("id")))
                state.unlink(missing_ok=True)

    def _remember(self, state: Path | None, upload: UploadState, remote: str, local: Path) -> None:
        if state is None:
            return
        state.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        record = {"server": self.server, "remote": remote, "local": str(local), "id": upload.id}
        descriptor = os.open(state, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            json.dump(record, out)

    def put_resumable(
        self, local: Path, remote: str, progress: Progress = _no_progress, *, retries: int = 3
    ) -> Entry:
        """Upload in chunks of ``chunk_size``, continuing an earlier interrupted upload."""
        local = local.resolve()
        with local.open("rb") as source:
            info = os.fstat(source.fileno())
            size = info.st_size
            state = self._state_file(remote, local, size, info.st_mtime_ns)
            upload = self._saved_upload(state)
            if upload is None:
                self._forget_stale(remote, local)
                upload = self.start_upload(remote, size)
                self._remember(state, upload, remote, local)
            offset, sent, attempts = upload.offset, 0, 0
            progress(offset)
            while True:
                while offset < size:
                    length = min(self.chunk_size, size - offset)
                    source.seek(offset)
                    try:
                        offset = self.append_upload(
                            upload.id,
                            offset=offset,
                            source=source,
                            length=length,
                            progress=progress,
                        ).offset
                    except ClientError as exc:
                        attempts += 1
                        if attempts > retries or not _retryable(exc):
                            raise
                        offset = self.upload_state(upload.id).offset
                        continue
                    sent += 1
                    if self.stop_after_chunks is not None and sent >= self.stop_after_chunks:
                        raise KeyboardInterrupt
                try:
                    entry = self.complete_upload(upload.id)
                except ClientError as exc:
                    attempts += 1
                    if attempts > retries or exc.status != 409:
                        raise
                    offset = self.upload_state(upload.id).offset
                    continue
                if state is not None:
                    state.unlink(missing_ok=True)
                return entry

    def put_file(self, local: Path, remote: str, progress: Progress = _no_progress) -> Entry:
        """Upload one local file: in one request, or resumable when larger than a chunk."""
        with local.open("rb") as source:
            size = os.fstat(source.fileno()).st_size
            if size <= self.chunk_size:
                return self.put_stream(remote, source, size, progress)
        return self.put_resumable(local, remote, progress)

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
                for piece in response.iter_bytes(PIECE):
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

    def get_file(
        self,
        remote: str,
        local: Path,
        *,
        version: int | None = None,
        progress: Progress = _no_progress,
        on_start: Callable[[int | None], None] | None = None,
    ) -> int:
        """Download into ``local`` atomically: a temporary file next to it (mode 0600) is renamed
        into place once complete, so a failed download leaves nothing behind."""
        descriptor, temporary = tempfile.mkstemp(
            dir=local.parent, prefix=f".{local.name[:100]}.", suffix=".part"
        )
        try:
            with os.fdopen(descriptor, "wb") as sink:
                size = self.download_to(
                    remote, sink, version=version, progress=progress, on_start=on_start
                )
                sink.flush()
                os.fsync(sink.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, local)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        return size

    # --- whole folders ----------------------------------------------------------------------

    def put_tree(
        self,
        files: Sequence[TreeFile],
        remote: str,
        *,
        folders: Sequence[str] = (),
        progress: Progress = _no_progress,
        batch_files: int = BATCH_FILES,
        batch_bytes: int = BATCH_BYTES,
    ) -> TreeReport:
        """Upload many files under the folder ``remote``: small ones in tar batches (the next
        batch is packed while one is sent), large ones alone. ``folders`` are created even
        if empty. A refused batch is retried file by file, so one bad name costs one file."""
        report = TreeReport()
        alone = min(self.chunk_size, batch_bytes // 4)
        small = [f for f in files if f.size <= alone]
        batches: list[list[TreeFile]] = []
        for item in small:
            if (
                not batches
                or len(batches[-1]) >= batch_files
                or sum_sizes(batches[-1]) + item.size > batch_bytes
            ):
                batches.append([])
            batches[-1].append(item)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pack") as packer:
            packed: list[Future[Packed]] = [packer.submit(pack, b) for b in batches[:1]]
            try:
                for index in range(len(batches)):
                    current = packed.pop(0).result()
                    if index + 1 < len(batches):
                        packed.append(packer.submit(pack, batches[index + 1]))
                    with current:
                        self._send_batch(current, remote, report)
                    progress(len(batches[index]))
            finally:
                for pending in packed:
                    if not pending.cancel():
                        with contextlib.suppress(Exception):
                            pending.result().close()
        for item in (f for f in files if f.size > alone):
            self._put_one(item, remote, report)
            progress(1)
        for folder in folders:
            try:
                self.make_folder(join(remote, folder))
            except ClientError as exc:
                if exc.status in {0, 401, 413, 507}:
                    raise
                report.failed.append((folder + "/", exc))
        return report

    def _send_batch(self, batch: Packed, remote: str, report: TreeReport) -> None:
        report.failed.extend(batch.failed)
        if not batch.files:
            return
        try:
            self.batch(remote, batch.file, batch.length)
        except ClientError as exc:
            if exc.status not in {409, 422}:
                raise
            for item in batch.files:  # find out which file it was, and store the others
                self._put_one(item, remote, report)
            return
        report.files += len(batch.files)
        report.bytes += sum_sizes(batch.files)

    def _put_one(self, item: TreeFile, remote: str, report: TreeReport) -> None:
        """Upload one file of a tree; a refusal that concerns only this file is reported."""
        try:
            self.put_file(item.local, join(remote, item.name))
        except OSError as exc:
            report.failed.append((item.name, ClientError(0, "local", str(exc))))
        except ClientError as exc:
            if exc.status not in {409, 422} and exc.code != "local_changed":
                raise
            report.failed.append((item.name, exc))
        else:
            report.files += 1
            report.bytes += item.size

    def walk(self, remote: str) -> tuple[list[str], list[Entry], list[tuple[str, ClientError]]]:
        """Every folder and file under ``remote`` as relative names, checked for safety."""
        folders: list[str] = []
        files: list[Entry] = []
        refused: list[tuple[str, ClientError]] = []
        pending = [("", remote)]
        while pending:
            relative, path = pending.pop()
            listing = self.list_folder(path)
            for entry in listing.entries:
                name = f"{relative}/{entry.name}" if relative else entry.name
                if entry.path != join(listing.folder.path, entry.name) or "/" in entry.name:
                    refused.append((name, UnsafeName(entry.path, "not inside the listed folder")))
                    continue
                if entry.is_folder:
                    folders.append(name)
                    pending.append((name, entry.path))
                else:
                    files.append(entry)
        return folders, files, refused

    def get_tree(
        self,
        remote: str,
        local: Path,
        *,
        progress: Progress = _no_progress,
        on_start: Callable[[int], None] | None = None,
    ) -> TreeReport:
        """Download the folder ``remote`` into the local folder ``local`` (created), never
        writing outside it whatever names the server sends."""
        report = TreeReport()
        folder = self.stat(remote)
        if not folder.is_folder:
            raise ClientError(422, "not_folder", f"{remote} is a file, not a folder")
        prefix = folder.path + "/"
        folders, entries, refused = self.walk(folder.path)
        report.failed.extend(refused)
        local.mkdir(parents=True, exist_ok=True)
        for name in folders:
            try:
                target = local_target(local, name)
                target.mkdir(parents=True, exist_ok=True)
                _inside_real(local, target)
            except UnsafeName as exc:
                report.failed.append((name, exc))
        planned: list[tuple[Entry, Path]] = []
        for entry in entries:
            name = entry.path.removeprefix(prefix)
            try:
                if not entry.path.startswith(prefix):
                    raise UnsafeName(entry.path, "not inside the folder asked for")
                target = local_target(local, name)
                target.parent.mkdir(parents=True, exist_ok=True)
                _inside_real(local, target.parent)
            except UnsafeName as exc:
                report.failed.append((name, exc))
                continue
            planned.append((entry, target))
        if on_start is not None:
            on_start(len(planned))
        with ThreadPoolExecutor(self.download_threads, thread_name_prefix="get") as pool:
            futures = {pool.submit(self.get_file, e.path, t): e for e, t in planned}
            try:
                for future in as_completed(futures):
                    entry = futures[future]
                    try:
                        report.bytes += future.result()
                        report.files += 1
                    except ClientError as exc:
                        if exc.status in {0, 401}:
                            raise
                        report.failed.append((entry.path.removeprefix(prefix), exc))
                    progress(1)
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        return report


def sum_sizes(files: Sequence[TreeFile]) -> int:
    return sum(f.size for f in files)


@dataclass
class Packed:
    """A batch packed as a tar stream in a spooled temporary file (memory stays bounded)."""

    file: IO[bytes]
    length: int
    files: list[TreeFile]
    failed: list[tuple[str, ClientError]]

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> Packed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def pack(files: Sequence[TreeFile]) -> Packed:
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    included: list[TreeFile] = []
    failed: list[tuple[str, ClientError]] = []
    with tarfile.open(fileobj=spool, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for item in files:
            start = archive.offset
            try:
                item.name.encode("utf-8")
                with item.local.open("rb") as source:
                    info = tarfile.TarInfo(item.name)
                    info.size = os.fstat(source.fileno()).st_size
                    info.mode = 0o600
                    archive.addfile(info, source)
            except (OSError, UnicodeEncodeError) as exc:
                spool.seek(start)  # a file cut short while packing: drop its partial member
                spool.truncate()
                archive.offset = start
                failed.append((item.name, ClientError(0, "local", f"cannot read it: {exc}")))
                continue
            included.append(TreeFile(item.local, item.name, info.size))
    length = spool.tell()
    spool.seek(0)
    return Packed(spool, length, included, failed)
