"""The production web server: gunicorn with threaded workers, periodic garbage collection and
the quality-control checker.

Gunicorn hands the request body to the application as it arrives, so uploads stream straight
into encryption; servers that spool large bodies to a temporary file first would leave
plaintext on disk. Garbage collection runs as a separate ``cohortvault storage gc`` process at
an interval, so the server's workers never do it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

logger = logging.getLogger(__name__)


class Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, application: Any, options: dict[str, Any]) -> None:
        self.application = application
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.application


def collect_garbage_periodically(data_dir: Path, interval: int) -> threading.Event:
    """Run ``cohortvault storage gc`` every ``interval`` seconds until the event is set."""
    stop = threading.Event()
    command = [
        sys.executable,
        "-m",
        "cohortvault.cli",
        "storage",
        "gc",
        "--data-dir",
        str(data_dir),
    ]

    def loop() -> None:
        while not stop.wait(interval):
            result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
            if result.returncode != 0:
                logger.error("garbage collection failed: %s", result.stderr.strip())

    threading.Thread(target=loop, name="gc", daemon=True).start()
    return stop


class ImportsChecker:
    """Keeps a ``cohortvault imports worker`` process running (restarted if it ever stops), so
    quality control of new imports happens outside the web workers, within seconds.

    ``stop`` ends it with the server. The worker also watches its parent, so a server that is
    killed outright (SIGKILL, out of memory) does not leave it checking on its own.
    """

    def __init__(self, data_dir: Path, interval: int) -> None:
        self.owner = os.getpid()
        self.command = [
            sys.executable, "-m", "cohortvault.cli", "imports", "worker",
            "--data-dir", str(data_dir), "--interval", str(interval),
            "--parent", str(self.owner),
        ]  # fmt: skip
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.process: subprocess.Popen[bytes] | None = None
        self.thread = threading.Thread(target=self._run, name="imports-checker", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        while True:
            with self.lock:
                if self.stopping.is_set():
                    return
                self.process = subprocess.Popen(self.command)  # noqa: S603
            code = self.process.wait()
            if self.stopping.is_set():
                return
            logger.error("the quality-control checker stopped (exit %s); restarting", code)
            self.stopping.wait(5)

    def stop(self, timeout: float = 10) -> None:
        if os.getpid() != self.owner:
            # a gunicorn worker, forked from the server, leaving through the server's stack
            return
        with self.lock:
            self.stopping.set()
            process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve(
    application: Any,
    *,
    data_dir: Path,
    host: str,
    port: int,
    workers: int,
    threads: int,
    trusted_proxies: list[str],
    gc_interval: int,
    quality_check_interval: int = 0,
) -> None:
    if gc_interval > 0:
        collect_garbage_periodically(data_dir, gc_interval)
    checker = ImportsChecker(data_dir, quality_check_interval)
    if quality_check_interval > 0:
        checker.start()
    try:
        Server(
            application,
            {
                "bind": f"{host}:{port}",
                "workers": workers,
                "threads": threads,
                "worker_class": "gthread",
                "timeout": 300,
                "graceful_timeout": 30,
                "keepalive": 5,
                "forwarded_allow_ips": ",".join(trusted_proxies) or "127.0.0.1",
                "proc_name": "cohortvault",
                "accesslog": "-",
                "errorlog": "-",
            },
        ).run()
    finally:
        checker.stop()
