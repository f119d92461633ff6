"""SIGKILL during writes, many times, at random moments: afterwards ``storage verify`` is clean,
every acknowledged file reads back intact, nothing points at a missing blob, and garbage
collection removes what the killed writes left behind.

A fresh instance is made with the real ``cohortvault init``; ``crash_writer.py`` (run with the
virtualenv's Python, like any child process of the platform) writes files through
``files.services.write_file`` in a loop and acknowledges each write on stdout once it returned.
Once a writer has acknowledged its first write, the test kills it with SIGKILL after a further
random 0-130 ms, over and over (counting from the first acknowledgement rather than from the
start keeps every round meaningful however loaded the machine is). Sizes range from empty
to a few megabytes, so kills land in encryption, fsync, rename and the database commit alike.

The random choices (kill moments, sizes, contents, paths) come from one seed, printed at the
start; ``CRASH_SEED=<n>`` replays them (how far each writer got by then depends on the machine).
The instance is embedded SQLite in its own directory, whichever database the suite runs on.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

from tests.commands import cohortvault, environment, run
from tests.files import crash_writer

PYTHON = Path(sys.executable)

WRITER = Path(__file__).with_name("crash_writer.py")
ADMIN_PASSWORD = "crash test administrator passphrase 3"
ROUNDS = 50
AHEAD = 2
KILL_AFTER = (0.0, 0.130)
START_TIMEOUT = 60.0


def writer_json(command: str, data_dir: Path, stdin: str = "") -> Any:
    result = run(PYTHON, WRITER, command, data_dir, input=stdin)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@dataclass
class Child:
    """One writer process, its output going to files that survive its death."""

    process: subprocess.Popen[bytes]
    out: Path
    err: Path
    seed: int
    handles: list[IO[bytes]] = field(default_factory=list)

    @classmethod
    def start(cls, data_dir: Path, folder: Path, number: int, seed: int) -> Child:
        out, err = folder / f"round{number}.out", folder / f"round{number}.err"
        stdout, stderr = out.open("wb"), err.open("wb")
        process = subprocess.Popen(
            [str(PYTHON), str(WRITER), "write", str(data_dir), str(seed)],
            stdin=subprocess.PIPE,
            stdout=stdout,
            stderr=stderr,
            env=environment(),
        )
        return cls(process, out, err, seed, [stdout, stderr])

    def lines(self) -> list[str]:
        text = self.out.read_text()
        complete = text if text.endswith("\n") else text.rsplit("\n", 1)[0]
        return complete.splitlines()

    def wait_for(self, marker: str) -> None:
        """Wait for a line that is ``marker`` or starts with ``marker`` and a space."""
        deadline = time.monotonic() + START_TIMEOUT
        while not any(line == marker or line.startswith(f"{marker} ") for line in self.lines()):
            if self.process.poll() is not None:
                pytest.fail(f"writer (seed {self.seed}) exited early:\n{self.err.read_text()}")
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"writer (seed {self.seed}) never said {marker}")
            time.sleep(0.002)

    def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"GO\n")
        self.process.stdin.flush()

    def kill(self) -> int:
        self.process.send_signal(signal.SIGKILL)
        code = self.process.wait()
        assert self.process.stdin is not None
        self.process.stdin.close()
        for handle in self.handles:
            handle.close()
        return code


@dataclass
class Ledger:
    """What the writers said, in order: per path, the acknowledged writes and the writes that
    began but were never acknowledged (the kill landed inside them)."""

    acknowledged: list[tuple[str, int, str]] = field(default_factory=list)
    last_ack: dict[str, str] = field(default_factory=dict)
    unacknowledged_after: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    kills_mid_write: int = 0
    kills_between_writes: int = 0
    per_round: list[int] = field(default_factory=list)
    mid_write_sizes: list[int] = field(default_factory=list)

    def add_round(self, lines: list[str], sizes: dict[str, int]) -> None:
        begun: tuple[str, str] | None = None
        acks = 0
        for line in lines:
            kind, *fields = line.split()
            if kind == "BEGIN":
                _, path, digest = fields
                begun = (path, digest)
            elif kind == "ACK":
                _, path, digest, version = fields
                assert begun == (path, digest), line
                begun = None
                acks += 1
                self.acknowledged.append((path, int(version), digest))
                self.last_ack[path] = digest
                self.unacknowledged_after[path].clear()
        if begun is not None:  # killed between BEGIN and ACK: that write may or may not count
            self.kills_mid_write += 1
            self.unacknowledged_after[begun[0]].add(begun[1])
            self.mid_write_sizes.append(sizes.get(begun[1], -1))
        else:
            self.kills_between_writes += 1
        self.per_round.append(acks)

    def allowed_current(self, path: str) -> set[str]:
        return {self.last_ack[path], *self.unacknowledged_after[path]}


def content_sizes(seed: int, count: int) -> dict[str, int]:
    """Sizes of the first writes of a run, by sha256 (for the report only)."""
    sizes = {}
    for number in range(count):
        _, data = crash_writer.content(seed, number)
        sizes[hashlib.sha256(data).hexdigest()] = len(data)
    return sizes


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    data_dir = tmp_path / "instance"
    made = cohortvault("init", "--data-dir", data_dir, "--admin-password", ADMIN_PASSWORD)
    assert made.returncode == 0, made.stderr
    setup = run(PYTHON, WRITER, "setup", data_dir)
    assert setup.returncode == 0 and setup.stdout.strip() == "READY", setup.stderr
    return data_dir


def test_sigkill_during_writes_leaves_verify_clean_and_acknowledged_files_intact(
    instance: Path, tmp_path: Path
) -> None:
    seed = int(os.environ.get("CRASH_SEED") or random.SystemRandom().randrange(2**32))
    print(f"\ncrash test seed: CRASH_SEED={seed}")
    rng = random.Random(seed)
    logs = tmp_path / "logs"
    logs.mkdir()
    ledger = Ledger()
    started = time.monotonic()
    seeds = [rng.randrange(2**32) for _ in range(ROUNDS)]
    # writers load Python and Django ahead of their turn, but touch nothing before GO
    waiting = [Child.start(instance, logs, n, seeds[n]) for n in range(min(AHEAD, ROUNDS))]
    try:
        for number in range(ROUNDS):
            child = waiting.pop(0)
            child.wait_for("LOADED")
            child.go()
            child.wait_for("READY")
            child.wait_for("ACK")
            if number + AHEAD < ROUNDS:
                waiting.append(Child.start(instance, logs, number + AHEAD, seeds[number + AHEAD]))
            time.sleep(rng.uniform(*KILL_AFTER))
            code = child.kill()
            if code != -signal.SIGKILL:
                pytest.fail(
                    f"writer of round {number} ended by itself ({code}):\n{child.err.read_text()}"
                )
            lines = child.lines()
            written = sum(line.startswith("BEGIN") for line in lines)
            ledger.add_round(lines, content_sizes(child.seed, written))
    finally:
        for child in waiting:  # after a failure: no writer may start once the test is gone
            child.kill()
    elapsed = time.monotonic() - started
    acknowledged = len(ledger.acknowledged)

    # 1. the blob store verifies clean straight after the crashes
    before_gc = writer_json("inventory", instance)
    verified = cohortvault("storage", "verify", "--data-dir", instance)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # 2. every acknowledged write reads back, and each file holds its last committed content
    expected = {
        "acknowledged": ledger.acknowledged,
        "paths": sorted(ledger.last_ack),
    }
    found = writer_json("check", instance, stdin=json.dumps(expected))
    damaged = [
        f"{path} version {version}"
        for path, version, digest in ledger.acknowledged
        if found["acknowledged"].get(f"{path}@{version}") != digest
    ]
    assert damaged == []
    wrong_current = [
        path
        for path in ledger.last_ack
        if found["current"][path] not in ledger.allowed_current(path)
    ]
    assert wrong_current == []
    # every write makes one blob: blobs beyond the acknowledged writes were committed by a
    # write that was killed before it could say so
    committed_unacknowledged = found["blobs"] - acknowledged
    assert 0 <= committed_unacknowledged <= ledger.kills_mid_write

    # 3. nothing points at a missing or incomplete blob
    for report in (before_gc, found):
        assert report["missing_parts"] == []
        assert report["dangling_versions"] == []
        assert report["files_without_content"] == []

    # 4. leftovers of killed writes go with garbage collection (once they are old enough)
    collected = writer_json("gc", instance)
    assert collected["temporary_removed"] == len(before_gc["temporary"])
    assert collected["orphans_removed"] == len(before_gc["orphans"])
    after_gc = writer_json("inventory", instance)
    assert after_gc["temporary"] == [] and after_gc["orphans"] == []
    assert after_gc["blobs"] == before_gc["blobs"] and after_gc["versions"] == before_gc["versions"]
    assert after_gc["missing_parts"] == [] and after_gc["dangling_versions"] == []
    verified_again = cohortvault("storage", "verify", "--data-dir", instance)
    assert verified_again.returncode == 0, verified_again.stdout + verified_again.stderr

    # 5. the audit trail survived every kill
    audited = cohortvault("audit", "verify", "--data-dir", instance)
    assert audited.returncode == 0, audited.stdout + audited.stderr

    big = sum(size >= 1024 * 1024 for size in ledger.mid_write_sizes)
    print(
        f"crash test: {ROUNDS} SIGKILLs in {elapsed:.1f} s, {acknowledged} writes acknowledged "
        f"({min(ledger.per_round)}-{max(ledger.per_round)} per round); "
        f"{ledger.kills_mid_write} kills landed inside a write ({big} of them in a write of "
        f"1 MiB or more, {committed_unacknowledged} after its commit but before its "
        f"acknowledgement), {ledger.kills_between_writes} between writes; "
        f"left behind: {len(before_gc['temporary'])} temporary files and "
        f"{len(before_gc['orphans'])} unreferenced blobs, all removed by gc; "
        f"{before_gc['blobs']} blobs verified clean before and after gc; audit trail intact; "
        f"checks took {time.monotonic() - started - elapsed:.1f} s"
    )
    assert ledger.kills_mid_write >= ROUNDS // 2, "too few kills landed inside a write"
