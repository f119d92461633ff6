"""Whole files and whole folders: resumable uploads that continue after an interruption,
atomic downloads, and recursive transfers of folder trees."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from cohortvault.files.client.batches import (
    BATCH_BYTES,
    BATCH_FILES,
    BATCH_SENDERS,
    Packed,
    pack,
    sum_sizes,
)
from cohortvault.files.client.connection import Connection, Progress, _no_progress, join
from cohortvault.files.client.errors import ClientError, UnsafeName, _retryable
from cohortvault.files.client.localpaths import _inside_real, local_target
from cohortvault.files.client.records import Entry, TreeFile, TreeReport, UploadState


class Client(Connection):
    """The REST API of one server, as one user (their bearer token).

    ``state_dir`` keeps the ids of unfinished resumable uploads; without it an interrupted
    upload starts over. ``download_threads`` files of a recursive download travel at once.
    ``stop_after_chunks`` interrupts an upload after that many chunks as Ctrl-C would (for
    tests of resuming).
    """

    # --- resumable uploads ------------------------------------------------------------------

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
        """Upload many files under the folder ``remote``: small ones in tar batches (two packed
        and sent at once, so the server can store one while it receives the other), large ones
        alone. ``folders`` are created even if empty. A refused batch is retried file by file,
        so one bad name costs one file."""
        report = TreeReport()
        alone = min(self.chunk_size, batch_bytes // 4)
        small = [f for f in files if f.size <= alone]
        batches: list[list[TreeFile]] = []
        filled = 0  # bytes in the last batch
        for item in small:
            if not batches or len(batches[-1]) >= batch_files or filled + item.size > batch_bytes:
                batches.append([])
                filled = 0
            batches[-1].append(item)
            filled += item.size
        lock = threading.Lock()

        def send(batch: list[TreeFile]) -> None:
            with pack(batch) as packed:
                self._send_batch(packed, remote, report, lock)
            with lock:
                progress(len(batch))

        senders = min(BATCH_SENDERS, self.download_threads)
        with ThreadPoolExecutor(max_workers=senders, thread_name_prefix="batch") as pool:
            pending = [pool.submit(send, batch) for batch in batches]
            try:
                for done in pending:
                    done.result()
            finally:
                for waiting in pending:
                    waiting.cancel()
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

    def _send_batch(
        self, batch: Packed, remote: str, report: TreeReport, lock: threading.Lock
    ) -> None:
        with lock:
            report.failed.extend(batch.failed)
        if not batch.files:
            return
        try:
            self.batch(remote, batch.file, batch.length)
        except ClientError as exc:
            if exc.status not in {409, 422}:
                raise
            for item in batch.files:  # find out which file it was, and store the others
                with lock:
                    self._put_one(item, remote, report)
            return
        with lock:
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
