"""A child process for ``test_crash.py``: opens a real instance and writes files through the
file service until it is killed.

    crash_writer.py setup DATA_DIR            create the site and the two writers, print READY
    crash_writer.py write DATA_DIR SEED       write files in a loop, forever
    crash_writer.py check DATA_DIR            read back what stdin (JSON) says was acknowledged
    crash_writer.py inventory DATA_DIR        what is on disk and in the database, without reading
    crash_writer.py gc DATA_DIR               collect garbage as if it were two hours later

``write`` loads everything it needs, prints ``LOADED`` and waits for a line on stdin before it
touches the database (so the test can start the next writer while the current one runs), then
prints ``READY`` and, for every write, ``BEGIN <n> <path> <sha256>`` before calling
``services.write_file`` and ``ACK <n> <path> <sha256> <version>`` after it returned, flushing
each line: a kill between the two landed inside the write. The content of write ``n`` follows
from the seed, so a failure can be replayed.

Run with the virtualenv's Python; the test removes every ``COHORTVAULT_*`` variable from the
environment so that only DATA_DIR counts.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

#: Who writes where: a data manager writes the site's data area, a site member its import area.
WRITERS = {"dm": "sites/oslo/data/crash", "oslo1": "sites/oslo/import/crash"}
PASSWORD = "crash test passphrase that is long enough 17"
#: (weight, smallest, largest) sizes in bytes: empty, tiny, small, medium, a few megabytes.
SIZES = [
    (10, 0, 0),
    (15, 1, 64),
    (25, 65, 64 * 1024),
    (25, 64 * 1024, 1024 * 1024),
    (25, 1024 * 1024, 3 * 1024 * 1024),
]
FILES_PER_WRITER = 6


def activate(data_dir: str) -> None:
    from cohortvault.instance import activate as open_instance

    open_instance(Path(data_dir))


def principals() -> dict[str, Any]:
    from cohortvault.consortium.services import principal_for_user
    from cohortvault.identity.models import User

    return {name: principal_for_user(User.objects.get(username=name)) for name in sorted(WRITERS)}


def setup() -> None:
    from cohortvault.access.policy import Role
    from cohortvault.consortium.services import create_site, grant_membership, principal_for_user
    from cohortvault.identity.models import User
    from cohortvault.identity.services import create_user

    admin = principal_for_user(User.objects.get(username="admin"))
    site = create_site(admin, code="oslo", name="Oslo", country="NO")
    create_user(username="dm", password=PASSWORD)
    grant_membership(admin, username="dm", role=Role.DATA_MANAGER, reason="crash test")
    create_user(username="oslo1", password=PASSWORD)
    grant_membership(admin, username="oslo1", role=Role.SITE_MEMBER, site=site, reason="crash test")
    print("READY", flush=True)


def content(seed: int, number: int) -> tuple[str, bytes]:
    """The writer (username) and content of write ``number`` of the run with ``seed``."""
    rng = random.Random(f"{seed}:{number}")
    writer = rng.choice(sorted(WRITERS))
    weights = [weight for weight, _, _ in SIZES]
    _, low, high = rng.choices(SIZES, weights=weights)[0]
    return writer, rng.randbytes(rng.randint(low, high))


def path_of(seed: int, number: int, writer: str) -> str:
    rng = random.Random(f"path:{seed}:{number}")
    return f"{WRITERS[writer]}/sub{rng.randrange(2)}/file{rng.randrange(FILES_PER_WRITER)}.bin"


def write(seed: int) -> None:
    from cohortvault.files import services

    print("LOADED", flush=True)
    if sys.stdin.readline().strip() != "GO":  # the test went away: write nothing
        return
    who = principals()
    print("READY", flush=True)
    number = 0
    writer, data = content(seed, number)
    while True:
        path = path_of(seed, number, writer)
        digest = hashlib.sha256(data).hexdigest()
        print(f"BEGIN {number} {path} {digest}", flush=True)
        entry = services.write_file(who[writer], path, io.BytesIO(data), size=len(data))
        # the next content is made before the acknowledgement, so that nearly every moment of
        # the loop lies inside a write (a late ACK only makes the test stricter)
        writer, data = content(seed, number + 1)
        print(f"ACK {number} {path} {digest} {entry.version}", flush=True)
        number += 1


def check() -> None:
    """Read back every acknowledged version and each path's current content; report what is
    on disk and in the database as JSON on stdout."""
    from cohortvault.files import services

    expected = json.load(sys.stdin)
    who = principals()

    def sha(path: str, version: int | None = None) -> tuple[str, int | None]:
        writer = next(name for name, root in WRITERS.items() if path.startswith(root + "/"))
        download = services.read_file(who[writer], path, version=version)
        digest = hashlib.sha256()
        for block in download.chunks:
            digest.update(block)
        return digest.hexdigest(), version or download.entry.version

    current, current_version = {}, {}
    for path in expected["paths"]:
        current[path], current_version[path] = sha(path)
    acknowledged = {}
    for path, version, _ in expected["acknowledged"]:
        if current_version.get(path) == version:  # already read as the current content
            acknowledged[f"{path}@{version}"] = current[path]
        else:
            acknowledged[f"{path}@{version}"] = sha(path, version)[0]
    json.dump({"acknowledged": acknowledged, "current": current, **inventory()}, sys.stdout)


def inventory() -> dict[str, Any]:
    """Rows and stored files: parts missing, versions without complete content, orphans."""
    from cohortvault.files.models import FileVersion, Node
    from cohortvault.storage.maintenance import backend
    from cohortvault.storage.models import Blob

    store = backend()
    missing_parts = []
    for blob in Blob.objects.all():
        for part in range(blob.parts):
            if not store._path(blob.id.hex, part).exists():
                missing_parts.append(f"{blob.id.hex}.{part}")
    dangling = [
        str(version)
        for version in FileVersion.objects.select_related("blob")
        if not version.blob.complete or version.blob.size != version.size
    ]
    files_without_content = [
        str(node)
        for node in Node.objects.filter(kind=Node.Kind.FILE, deleted_at__isnull=True)
        if node.current_id is None
    ]
    known = {blob_id.hex for blob_id in Blob.objects.values_list("id", flat=True)}
    stored = dict(store.stored_blobs())
    temporary = (
        sorted(p.name for p in store.temporary.iterdir()) if store.temporary.exists() else []
    )
    return {
        "missing_parts": missing_parts,
        "dangling_versions": dangling,
        "files_without_content": files_without_content,
        "blobs": len(known),
        "versions": FileVersion.objects.count(),
        "orphans": sorted(set(stored) - known),
        "temporary": temporary,
    }


def gc() -> None:
    from cohortvault.storage.maintenance import GRACE_SECONDS, collect_garbage

    report = collect_garbage(now=time.time() + 2 * GRACE_SECONDS)
    json.dump(
        {
            "orphans_removed": report.orphans_removed,
            "temporary_removed": report.temporary_removed,
            "purged": report.purged,
        },
        sys.stdout,
    )


def main(argv: list[str]) -> None:
    command, data_dir, *rest = argv
    activate(data_dir)
    match command:
        case "setup":
            setup()
        case "write":
            write(int(rest[0]))
        case "check":
            check()
        case "inventory":
            json.dump(inventory(), sys.stdout)
        case "gc":
            gc()
        case _:
            raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
