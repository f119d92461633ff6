"""Large stored parts are decrypted by the ``age`` command in a process of its own; small ones,
and all of them without the command, by pyrage. Both read the same format, and tampering and
truncation fail loudly on either side."""

from __future__ import annotations

import io
import os
import secrets as random_bytes
import shutil
from pathlib import Path
from typing import Any

import pyrage
import pytest

from cohortvault.access.policy import Area
from cohortvault.storage import blobs, keys, maintenance
from cohortvault.storage.blobs import agecommand
from cohortvault.storage.blobs.backend import BLOCK, BlobCorrupt, Incomplete, TooLarge

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(shutil.which("age") is None, reason="the age command is not installed"),
]
LARGE = agecommand.PROCESS_FROM + 3 * BLOCK + 17
SMALL = 64 * 1024


@pytest.fixture
def secrets(settings: Any) -> keys.AreaSecrets:
    settings.COHORTVAULT_MASTER_KEY_FILE = Path(settings.DATA_DIR) / "master.key"
    keys.forget_cached_keys()
    key_file = settings.COHORTVAULT_MASTER_KEY_FILE
    keys.write_identity_file(key_file, pyrage.x25519.Identity.generate())
    return keys.secrets_for(keys.ensure_area_key(Area.home("alice")))


def write(
    secrets: keys.AreaSecrets, content: bytes, **kwargs: Any
) -> tuple[str, blobs.WrittenPart]:
    blob_id = blobs.new_blob_id()
    written = blobs.write_part(
        maintenance.backend(), secrets, blob_id, 0, io.BytesIO(content), **kwargs
    )
    return blob_id, written


def read(secrets: keys.AreaSecrets, blob_id: str) -> bytes:
    return b"".join(blobs.read_part(maintenance.backend(), secrets, blob_id, 0))


def stored(blob_id: str) -> Path:
    return maintenance.backend()._path(blob_id, 0)


def published() -> list[Path]:
    root = maintenance.backend().root
    return [p for p in root.rglob("*") if p.is_file() and ".tmp" not in p.parts]


@pytest.mark.parametrize("size", [0, 1, SMALL, agecommand.PROCESS_FROM - 1, LARGE])
@pytest.mark.parametrize("reader", ["age", ""])
def test_both_read_what_was_written(
    secrets: keys.AreaSecrets, settings: Any, size: int, reader: str
) -> None:
    content = random_bytes.token_bytes(size)
    blob_id, written = write(secrets, content, expected_size=size)
    assert written.size == size
    settings.COHORTVAULT_AGE_COMMAND = reader
    assert read(secrets, blob_id) == content
    if size >= 64:  # shorter plaintexts may turn up in ciphertext by chance
        assert content[:64] not in stored(blob_id).read_bytes()
    assert blobs.verify_part(maintenance.backend(), secrets, blob_id, 0) == written


def test_the_process_decrypts_large_parts_only(
    secrets: keys.AreaSecrets, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[list[str]] = []
    original = agecommand.subprocess.Popen

    def spy(arguments: list[str], **kwargs: Any) -> Any:
        started.append(arguments)
        return original(arguments, **kwargs)

    monkeypatch.setattr(agecommand.subprocess, "Popen", spy)
    small, _ = write(secrets, b"x" * SMALL, expected_size=SMALL)
    large, _ = write(secrets, b"x" * LARGE, expected_size=LARGE)
    assert started == []  # encryption stays in-process
    read(secrets, small)
    assert started == []
    assert read(secrets, large) == b"x" * LARGE
    [arguments] = started
    assert arguments[1] == "--decrypt" and str(secrets.identity) not in " ".join(arguments)


@pytest.mark.parametrize("where", ["header", "middle", "end"])
def test_tampering_with_a_large_part_fails_loudly(secrets: keys.AreaSecrets, where: str) -> None:
    content = random_bytes.token_bytes(LARGE)
    blob_id, _ = write(secrets, content, expected_size=LARGE)
    path = stored(blob_id)
    data = bytearray(path.read_bytes())
    spot = {"header": 40, "middle": len(data) // 2, "end": len(data) - 5}[where]
    data[spot] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(BlobCorrupt):
        read(secrets, blob_id)


def test_a_truncated_large_part_fails_loudly(secrets: keys.AreaSecrets) -> None:
    blob_id, _ = write(secrets, random_bytes.token_bytes(LARGE), expected_size=LARGE)
    path = stored(blob_id)
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size - 70_000)
    with pytest.raises(BlobCorrupt):
        read(secrets, blob_id)


def test_a_short_upload_publishes_nothing(secrets: keys.AreaSecrets) -> None:
    with pytest.raises(Incomplete):
        write(secrets, b"y" * LARGE, expected_size=LARGE + 1)
    assert published() == []


def test_an_upload_over_the_limit_stops_at_once(secrets: keys.AreaSecrets) -> None:
    with pytest.raises(TooLarge):
        write(secrets, b"z" * LARGE, limit=LARGE - 1)
    assert published() == []


def test_a_source_that_fails_midway_publishes_nothing(secrets: keys.AreaSecrets) -> None:
    class Vanishing(io.RawIOBase):
        sent = 0

        def read(self, size: int = -1) -> bytes:
            self.sent += 1
            if self.sent > 12:
                raise ConnectionResetError("client went away")
            return b"v" * BLOCK

    with pytest.raises(Incomplete):
        blobs.write_part(maintenance.backend(), secrets, blobs.new_blob_id(), 0, Vanishing())
    assert published() == []


def test_a_reader_that_stops_early_leaves_no_process(secrets: keys.AreaSecrets) -> None:
    blob_id, _ = write(secrets, random_bytes.token_bytes(LARGE), expected_size=LARGE)
    stream = blobs.read_part(maintenance.backend(), secrets, blob_id, 0)
    assert len(next(stream)) > 0
    stream.close()
    children = [p for p in os.listdir("/proc") if p.isdigit()]
    mine = [
        p
        for p in children
        if Path(f"/proc/{p}/stat").exists()
        and Path(f"/proc/{p}/stat").read_text().split()[3] == str(os.getpid())
        and "age" in Path(f"/proc/{p}/comm").read_text()
    ]
    assert mine == []
