"""The production web server: gunicorn with threaded workers, periodic garbage collection and
the quality-control checker.

Gunicorn hands the request body to the application as it arrives, so uploads stream straight
into encryption; servers that spool large bodies to a temporary file first would leave
plaintext on disk. Garbage collection runs as a separate ``cohortvault storage gc`` process at
an interval, so the server's workers never do it.
"""

from __future__ import annotations

import logging
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


def check_imports_continuously(data_dir: Path, interval: int) -> threading.Event:
    """Keep a ``cohortvault imports worker`` process running (restarted if it ever stops), so
    quality control of new imports happens outside the web workers, within seconds."""
    stop = threading.Event()
    command = [sys.executable, "-m", "cohortvault.cli", "imports", "worker",
               "--data-dir", str(data_dir), "--interval", str(interval)]  # fmt: skip

    def loop() -> None:
        while not stop.is_set():
            process = subprocess.Popen(command)  # noqa: S603
            while process.poll() is None:
                if stop.wait(1):
                    process.terminate()
                    return
            logger.error(
                "the quality-control checker stopped (exit %s); restarting", process.returncode
            )
            stop.wait(5)

    threading.Thread(target=loop, name="imports-checker", daemon=True).start()
    return stop


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
    if quality_check_interval > 0:
        check_imports_continuously(data_dir, quality_check_interval)
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
