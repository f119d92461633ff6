"""Running the real ``cohortvault`` command (and Python) in a child process, for tests.

The child gets the caller's environment without any ``COHORTVAULT_*`` variable (the suite's
own data directory and PostgreSQL URL), so it opens only the instance its arguments name.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

COHORTVAULT = Path(sys.executable).parent / "cohortvault"


def environment(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("COHORTVAULT_")}
    env.update(extra)
    return env


def run(
    *args: str | Path,
    input: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(arg) for arg in args],
        env=env or environment(),
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def cohortvault(
    *args: str | Path,
    input: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    return run(COHORTVAULT, *args, input=input, env=env, timeout=timeout)


def python(
    script: str, *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run(sys.executable, "-c", script, *args, env=env)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)
