"""The key hierarchy (master key → area keys → blobs), paper shares, rotation, crypto-shredding,
and the blob store's verification and garbage collection, in process.

Every test gets a master key file of its own in its own data directory (the blob store lives
there too), and starts and ends with an empty cache of unwrapped area keys.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import itertools
import os
import shutil
import stat
import time
from pathlib import Path
from typing import Any

import pyrage
import pytest
import shamir_mnemonic
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from cohortvault.access.policy import Area
from cohortvault.errors import Conflict, Invalid, NotFound
from cohortvault.storage import blobs, keys, maintenance
from cohortvault.storage.keyfile import MasterKeyError, parse_identity, write_identity_file
from cohortvault.storage.models import AreaKey, Blob

pytestmark = pytest.mark.django_db

Identity = pyrage.x25519.Identity


@pytest.fixture(autouse=True)
def _empty_key_cache() -> Any:
    keys.forget_cached_keys()
    yield
    keys.forget_cached_keys()


@pytest.fixture
def key_file(settings: Any) -> Path:
    """Where this test's master key file lives (``master_identity`` reads it from here)."""
    path = Path(settings.DATA_DIR) / "master.key"
    settings.COHORTVAULT_MASTER_KEY_FILE = path
    return path


@pytest.fixture
def master(key_file: Path) -> Identity:
    """A fresh master key, written to the key file with mode 0600."""
    identity = Identity.generate()
    write_identity_file(key_file, identity)
    return identity


@pytest.fixture
def no_purgers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Garbage collection without the domains' retention rules: the storage layer alone."""
    monkeypatch.setattr(maintenance, "_purgers", [])


def store(row: AreaKey, *parts: bytes) -> Blob:
    """Write a complete blob of one or more parts into the area of ``row``, as the file service
    does: parts first, then the row that refers to them."""
    secrets = keys.secrets_for(row)
    blob = Blob(area_key=row)
    written = [
        blobs.write_part(maintenance.backend(), secrets, blob.id.hex, number, io.BytesIO(content))
        for number, content in enumerate(parts)
    ]
    blob.part_sizes = [part.size for part in written]
    blob.part_checksums = [part.checksum for part in written]
    blob.size = sum(blob.part_sizes)
    blob.checksum = blobs.combine_checksums(secrets.mac_key, blob.part_checksums)
    blob.complete = True
    blob.save()
    return blob


def read(blob: Blob) -> bytes:
    """A blob's content, unwrapping its area key afresh from the database."""
    row = AreaKey.objects.get(pk=blob.area_key_id)
    secrets = keys.secrets_for(row)
    store_ = maintenance.backend()
    return b"".join(
        block
        for part in range(blob.parts)
        for block in blobs.read_part(store_, secrets, blob.id.hex, part)
    )


def part_file(blob: Blob, part: int = 0) -> Path:
    return maintenance.backend()._path(blob.id.hex, part)


def unwraps(row: AreaKey, identity: Identity) -> bool:
    try:
        pyrage.decrypt(bytes(row.wrapped), [identity])
    except pyrage.DecryptError:
        return False
    return True


# --- area keys ------------------------------------------------------------------------------


def test_ensure_area_key_creates_one_key_per_area_and_is_idempotent(master: Identity) -> None:
    areas = [Area.logs(), Area.project("alpha"), Area.site_data("oslo"), Area.site_import("oslo")]
    first = [keys.ensure_area_key(area) for area in areas]
    again = [keys.ensure_area_key(area) for area in areas]

    assert [row.pk for row in again] == [row.pk for row in first]
    assert AreaKey.objects.filter(area__in=[a.path for a in areas]).count() == len(areas)
    assert len({row.recipient for row in first}) == len(areas)
    for row in first:
        assert row.master_recipient == str(master.to_public())
        assert keys.secrets_for(row).recipient.__str__() == row.recipient
        assert b"AGE-SECRET-KEY" not in bytes(row.wrapped)


def test_area_secrets_differ_between_areas(master: Identity) -> None:
    one = keys.secrets_for(keys.ensure_area_key(Area.project("alpha")))
    two = keys.secrets_for(keys.ensure_area_key(Area.project("beta")))
    assert str(one.identity) != str(two.identity)
    assert one.mac_key != two.mac_key
    assert len(one.mac_key) == 32


def test_a_wrapped_key_unwraps_only_with_its_master_key(master: Identity, key_file: Path) -> None:
    row = keys.ensure_area_key(Area.logs())
    assert unwraps(row, master)
    write_identity_file(key_file, Identity.generate())
    keys.forget_cached_keys()

    with pytest.raises(MasterKeyError, match="wrapped with master key"):
        keys.secrets_for(row)


def test_a_wrapped_key_does_not_decrypt_under_another_key_even_if_the_record_says_so(
    master: Identity, key_file: Path
) -> None:
    row = keys.ensure_area_key(Area.logs())
    impostor = Identity.generate()
    write_identity_file(key_file, impostor)
    AreaKey.objects.filter(pk=row.pk).update(master_recipient=str(impostor.to_public()))
    keys.forget_cached_keys()

    with pytest.raises(MasterKeyError, match="cannot unwrap"):
        keys.secrets_for(AreaKey.objects.get(pk=row.pk))


def test_a_missing_master_key_file_says_how_to_recover(key_file: Path) -> None:
    with pytest.raises(MasterKeyError, match="keys recover"):
        keys.master_identity()


def test_a_damaged_master_key_file_is_refused(key_file: Path) -> None:
    key_file.write_text("# not a key\nAGE-SECRET-KEY-1NOTAKEY\n")
    with pytest.raises(MasterKeyError, match="not an age identity"):
        keys.master_identity()


def test_the_master_key_file_is_private(master: Identity, key_file: Path) -> None:
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert str(parse_identity(key_file.read_text()).to_public()) == str(master.to_public())


def test_identity_bytes_round_trip(master: Identity) -> None:
    raw = keys.identity_bytes(master)
    assert len(raw) == 32
    assert str(keys.identity_from_bytes(raw)) == str(master)


@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(raw=st.binary(min_size=32, max_size=32))
def test_any_32_bytes_make_an_identity_that_gives_them_back(raw: bytes) -> None:
    identity = keys.identity_from_bytes(raw)
    assert keys.identity_bytes(identity) == raw
    assert str(identity).startswith("AGE-SECRET-KEY-1")


# --- paper shares ---------------------------------------------------------------------------


@pytest.mark.parametrize(("threshold", "shares"), [(2, 3), (3, 5), (1, 1)])
def test_any_threshold_shares_rebuild_the_master_key(
    master: Identity, threshold: int, shares: int
) -> None:
    mnemonics = keys.paper_shares(threshold=threshold, shares=shares)
    assert len(mnemonics) == shares
    assert len(set(mnemonics)) == shares
    for chosen in itertools.combinations(mnemonics, threshold):
        assert str(keys.recover_identity(chosen)) == str(master)


@pytest.mark.parametrize(("threshold", "shares"), [(2, 3), (3, 5)])
def test_fewer_than_threshold_shares_rebuild_nothing(
    master: Identity, threshold: int, shares: int
) -> None:
    mnemonics = keys.paper_shares(threshold=threshold, shares=shares)
    for chosen in itertools.combinations(mnemonics, threshold - 1):
        with pytest.raises(Invalid, match="do not combine"):
            keys.recover_identity(chosen)


def test_shares_survive_case_and_line_breaks(master: Identity) -> None:
    first, second = keys.paper_shares(threshold=2, shares=2)
    retyped = "\n".join(first.upper().split())
    assert str(keys.recover_identity([retyped, f"  {second}  "])) == str(master)


def test_shares_of_two_backups_do_not_mix(master: Identity) -> None:
    one = keys.paper_shares(threshold=2, shares=3)
    two = keys.paper_shares(threshold=2, shares=3)
    with pytest.raises(Invalid):
        keys.recover_identity([one[0], two[1]])


def test_a_mistyped_word_is_caught_by_the_checksum(master: Identity) -> None:
    first, second = keys.paper_shares(threshold=2, shares=2)
    words = first.split()
    words[10] = "academic" if words[10] != "academic" else "acid"
    with pytest.raises(Invalid):
        keys.recover_identity([" ".join(words), second])


def test_more_than_threshold_shares_also_rebuild_the_master_key(master: Identity) -> None:
    mnemonics = keys.paper_shares(threshold=2, shares=3)
    assert str(keys.recover_identity(mnemonics)) == str(master)


def test_shares_of_a_secret_of_another_length_are_refused_as_invalid() -> None:
    (group,) = shamir_mnemonic.generate_mnemonics(
        group_threshold=1, groups=[(2, 2)], master_secret=bytes(16)
    )
    with pytest.raises(Invalid):
        keys.recover_identity(group)


@pytest.mark.parametrize(
    ("threshold", "shares", "message"),
    [
        (1, 3, "threshold of 1"),
        (3, 2, "threshold"),
        (0, 2, "threshold"),
        (2, 17, "16"),
    ],
)
def test_unsafe_or_impossible_share_counts_are_refused(
    master: Identity, threshold: int, shares: int, message: str
) -> None:
    with pytest.raises(Invalid, match=message):
        keys.paper_shares(threshold=threshold, shares=shares)


# --- rotation -------------------------------------------------------------------------------


def test_rotation_rewraps_every_key_and_keeps_every_blob_readable(
    master: Identity, key_file: Path
) -> None:
    logs = keys.ensure_area_key(Area.logs())
    project = keys.ensure_area_key(Area.project("alpha"))
    doomed = keys.ensure_area_key(Area.project("gone"))
    written = {
        store(logs, b"log line\n"): b"log line\n",
        store(project, b"a" * 5000, b"b"): b"a" * 5000 + b"b",
    }
    keys.destroy_area_key(doomed.area)

    new = keys.rotate_master()

    assert str(new) != str(master.to_public())
    on_disk = parse_identity(key_file.read_text())
    assert str(on_disk.to_public()) == str(new)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not key_file.with_name("master.key.new").exists()
    assert keys.expected_master_recipients() == {str(new)}
    for row in AreaKey.objects.filter(destroyed_at__isnull=True):
        assert not unwraps(row, master)
        assert unwraps(row, on_disk)
    keys.forget_cached_keys()
    for blob, content in written.items():
        assert read(blob) == content


def test_old_paper_shares_rebuild_the_old_key_after_rotation(master: Identity) -> None:
    keys.ensure_area_key(Area.logs())
    old_shares = keys.paper_shares(threshold=2, shares=2)
    new = keys.rotate_master()
    rebuilt = keys.recover_identity(old_shares)
    assert str(rebuilt.to_public()) == str(master.to_public())
    assert str(rebuilt.to_public()) not in keys.expected_master_recipients()
    assert keys.expected_master_recipients() == {str(new)}


def test_rotation_refuses_a_master_key_from_the_environment(settings: Any, key_file: Path) -> None:
    identity = Identity.generate()
    settings.CONFIG = dataclasses.replace(settings.CONFIG, master_key=str(identity))
    row = keys.ensure_area_key(Area.logs())

    assert not key_file.exists()
    assert str(keys.master_identity()) == str(identity)
    assert row.master_recipient == str(identity.to_public())
    with pytest.raises(Conflict, match="COHORTVAULT_MASTER_KEY"):
        keys.rotate_master()
    assert keys.expected_master_recipients() == {str(identity.to_public())}
    assert not key_file.exists()
    assert not key_file.with_name("master.key.new").exists()


def test_a_rotation_that_stopped_before_the_database_moved_is_undone(
    master: Identity, key_file: Path
) -> None:
    blob = store(keys.ensure_area_key(Area.logs()), b"content")
    pending = key_file.with_name("master.key.new")
    write_identity_file(pending, Identity.generate())  # step 1 done, crash before step 2
    keys.forget_cached_keys()

    assert str(keys.master_identity()) == str(master)
    assert not pending.exists()
    assert read(blob) == b"content"


def test_a_rotation_that_failed_inside_the_transaction_is_undone(
    master: Identity, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [keys.ensure_area_key(Area.logs()), keys.ensure_area_key(Area.project("alpha"))]
    blob = store(rows[1], b"content")
    real_wrap = keys._wrap
    calls = itertools.count()

    def wrap_then_fail(*args: Any) -> bytes:
        if next(calls) == 1:
            raise OSError("power cut")
        return real_wrap(*args)

    monkeypatch.setattr(keys, "_wrap", wrap_then_fail)
    with pytest.raises(OSError, match="power cut"):
        keys.rotate_master()
    monkeypatch.undo()

    assert keys.expected_master_recipients() == {str(master.to_public())}
    keys.forget_cached_keys()
    assert str(keys.master_identity()) == str(master)
    assert not key_file.with_name("master.key.new").exists()
    assert read(blob) == b"content"


def test_a_rotation_that_stopped_after_the_database_moved_is_completed(
    master: Identity, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blob = store(keys.ensure_area_key(Area.logs()), b"content")
    real_replace = os.replace

    def crash_before_the_key_file_moves(src: Any, dst: Any) -> None:
        if Path(dst) == key_file and Path(src).name == "master.key.new":
            raise OSError("killed")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_before_the_key_file_moves)
    with pytest.raises(OSError, match="killed"):
        keys.rotate_master()
    monkeypatch.undo()
    (moved_to,) = keys.expected_master_recipients()
    assert moved_to != str(master.to_public())
    assert str(parse_identity(key_file.read_text()).to_public()) == str(master.to_public())
    keys.forget_cached_keys()

    assert str(keys.master_identity().to_public()) == moved_to
    assert not key_file.with_name("master.key.new").exists()
    assert str(parse_identity(key_file.read_text()).to_public()) == moved_to
    assert read(blob) == b"content"


def test_reading_the_master_key_while_a_rotation_runs_loses_nothing(
    master: Identity, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blob = store(keys.ensure_area_key(Area.logs()), b"content")
    real_wrap = keys._wrap

    def wrap_while_a_server_opens_the_key(*args: Any) -> bytes:
        keys.finish_interrupted_rotation(key_file)  # what master_identity() does elsewhere
        return real_wrap(*args)

    monkeypatch.setattr(keys, "_wrap", wrap_while_a_server_opens_the_key)
    with contextlib.suppress(OSError):  # what matters is whether the content is still readable
        keys.rotate_master()
    monkeypatch.undo()
    keys.forget_cached_keys()
    assert read(blob) == b"content"


def test_a_rotation_waits_for_key_creation_in_other_processes(master: Identity) -> None:
    """Key creation holds the rotation lock shared; a rotation needs it exclusively."""
    import fcntl
    import os

    lock_path = keys.master_key_path().with_name(keys.master_key_path().name + ".lock")
    with keys.rotation_lock(exclusive=False) as held:
        assert held
        other = os.open(lock_path, os.O_RDWR)  # another open file: what another process has
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(other, fcntl.LOCK_SH | fcntl.LOCK_NB)  # other creators are not held up
        finally:
            os.close(other)


def test_a_rotation_cannot_start_inside_key_creation(
    master: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys.ensure_area_key(Area.logs())
    real_wrap = keys._wrap

    def wrap_while_rotating(*args: Any) -> bytes:
        monkeypatch.setattr(keys, "_wrap", real_wrap)
        with pytest.raises(Conflict):
            keys.rotate_master()
        return real_wrap(*args)

    monkeypatch.setattr(keys, "_wrap", wrap_while_rotating)
    row = keys.ensure_area_key(Area.project("alpha"))
    keys.forget_cached_keys()
    assert keys.secrets_for(row).area == "projects/alpha"


# --- crypto-shredding -----------------------------------------------------------------------


def test_destroying_an_area_key_makes_its_content_unreadable(master: Identity) -> None:
    project = keys.ensure_area_key(Area.project("alpha"))
    logs = keys.ensure_area_key(Area.logs())
    store(project, b"one")
    store(project, b"two", b"three")
    kept = store(logs, b"kept")
    keys.secrets_for(project)  # cached, as in a running process

    assert keys.destroy_area_key("projects/alpha") == 2

    row = AreaKey.objects.get(pk=project.pk)
    assert row.destroyed_at is not None
    assert bytes(row.wrapped) == b""
    with pytest.raises(NotFound, match="destroyed"):
        keys.secrets_for(row)
    assert read(kept) == b"kept"


def test_destroying_twice_or_an_unknown_area_is_refused(master: Identity) -> None:
    keys.ensure_area_key(Area.project("alpha"))
    keys.destroy_area_key("projects/alpha")
    with pytest.raises(Conflict, match="already"):
        keys.destroy_area_key("projects/alpha")
    with pytest.raises(NotFound):
        keys.destroy_area_key("projects/nowhere")


def test_a_destroyed_area_stays_destroyed_across_rotation(master: Identity) -> None:
    row = keys.ensure_area_key(Area.project("alpha"))
    keys.destroy_area_key(row.area)
    keys.rotate_master()
    with pytest.raises(NotFound):
        keys.secrets_for(AreaKey.objects.get(pk=row.pk))


def test_verify_skips_shredded_blobs(master: Identity) -> None:
    row = keys.ensure_area_key(Area.project("alpha"))
    store(row, b"content")
    keys.destroy_area_key(row.area)
    assert list(maintenance.verify_blobs()) == []


def test_gc_removes_the_content_of_a_shredded_area(master: Identity, no_purgers: None) -> None:
    row = keys.ensure_area_key(Area.project("alpha"))
    blob = store(row, b"content")
    keys.destroy_area_key(row.area)
    maintenance.collect_garbage(now=time.time() + 10 * maintenance.GRACE_SECONDS)
    assert not part_file(blob).exists()


# --- verification ---------------------------------------------------------------------------


def test_verify_passes_on_intact_blobs_and_reports_progress(master: Identity) -> None:
    logs = keys.ensure_area_key(Area.logs())
    project = keys.ensure_area_key(Area.project("alpha"))
    for content in (b"", b"x" * (blobs.BLOCK + 17), b"short"):
        store(logs, content)
    store(project, b"first part", b"second part")
    seen: list[int] = []

    assert list(maintenance.verify_blobs(progress=seen.append)) == []
    assert seen == [1, 2, 3, 4]


@pytest.mark.parametrize("where", ["header", "middle", "last byte"])
def test_verify_reports_a_flipped_byte(master: Identity, where: str) -> None:
    row = keys.ensure_area_key(Area.logs())
    intact = store(row, b"intact")
    tampered = store(row, b"y" * 100_000)
    path = part_file(tampered)
    data = bytearray(path.read_bytes())
    position = {"header": 3, "middle": len(data) // 2, "last byte": len(data) - 1}[where]
    data[position] ^= 0x01
    path.write_bytes(bytes(data))

    problems = list(maintenance.verify_blobs())

    assert [p.blob_id for p in problems] == [tampered.id.hex]
    assert problems[0].area == "logs"
    assert "failed decryption" in problems[0].message
    assert read(intact) == b"intact"
    with pytest.raises(blobs.BlobCorrupt):
        read(tampered)


def test_verify_reports_a_missing_part(master: Identity) -> None:
    row = keys.ensure_area_key(Area.logs())
    blob = store(row, b"first", b"second")
    part_file(blob, 1).unlink()

    (problem,) = maintenance.verify_blobs()
    assert problem.blob_id == blob.id.hex
    assert "missing" in problem.message
    assert str(problem).startswith(f"blob {blob.id.hex} (logs):")


def test_verify_reports_content_that_does_not_match_its_record(master: Identity) -> None:
    row = keys.ensure_area_key(Area.logs())
    blob = store(row, b"original")
    other = store(row, b"replaced")
    shutil.copyfile(part_file(other), part_file(blob))  # valid ciphertext, other content

    problems = list(maintenance.verify_blobs())
    assert {p.blob_id for p in problems} == {blob.id.hex}
    assert [p.message for p in problems] == [
        "part 0 does not match its record",
        "checksum does not match its record",
    ]


def test_verify_reports_an_edited_record(master: Identity) -> None:
    row = keys.ensure_area_key(Area.logs())
    blob = store(row, b"content")
    Blob.objects.filter(pk=blob.pk).update(checksum="0" * 64)

    (problem,) = maintenance.verify_blobs()
    assert problem.message == "checksum does not match its record"


def test_verify_ignores_incomplete_blobs(master: Identity) -> None:
    row = keys.ensure_area_key(Area.logs())
    Blob.objects.create(area_key=row, complete=False)
    assert list(maintenance.verify_blobs()) == []


# --- garbage collection ---------------------------------------------------------------------


def test_forgetting_a_blob_in_a_transaction_that_rolls_back_keeps_its_content(
    master: Identity,
) -> None:
    blob = store(keys.ensure_area_key(Area.logs()), b"content")
    with contextlib.suppress(RuntimeError), transaction.atomic():
        maintenance.forget_blob(Blob.objects.get(pk=blob.pk))
        raise RuntimeError("the audit entry could not be written")
    assert Blob.objects.filter(pk=blob.pk).exists()
    assert read(blob) == b"content"


def orphan(row: AreaKey, *, age: float) -> str:
    """Stored parts that no Blob row refers to, last written ``age`` seconds ago."""
    blob_id = blobs.new_blob_id()
    blobs.write_part(maintenance.backend(), keys.secrets_for(row), blob_id, 0, io.BytesIO(b"x"))
    moment = time.time() - age
    path = maintenance.backend()._path(blob_id, 0)
    os.utime(path, (moment, moment))
    return blob_id


def test_gc_removes_old_unreferenced_blobs_and_keeps_fresh_and_referenced_ones(
    master: Identity, no_purgers: None
) -> None:
    row = keys.ensure_area_key(Area.logs())
    referenced = store(row, b"still wanted")
    old_time = time.time() - 2 * maintenance.GRACE_SECONDS
    os.utime(part_file(referenced), (old_time, old_time))
    old = orphan(row, age=maintenance.GRACE_SECONDS + 60)
    fresh = orphan(row, age=60)
    store_ = maintenance.backend()

    report = maintenance.collect_garbage()

    assert report.orphans_removed == 1
    assert not store_._path(old, 0).exists()
    assert store_._path(fresh, 0).exists()
    assert read(referenced) == b"still wanted"
    assert list(maintenance.verify_blobs()) == []


def test_gc_removes_old_temporary_files_of_interrupted_writes(
    master: Identity, no_purgers: None
) -> None:
    store_ = maintenance.backend()
    store_.temporary.mkdir(parents=True)
    old, fresh = store_.temporary / "old.0.x", store_.temporary / "fresh.0.y"
    old.write_bytes(b"half")
    fresh.write_bytes(b"being written")
    moment = time.time() - maintenance.GRACE_SECONDS - 60
    os.utime(old, (moment, moment))

    report = maintenance.collect_garbage()

    assert report.temporary_removed == 1
    assert not old.exists()
    assert fresh.exists()


def test_gc_runs_registered_purgers_and_adds_up_their_counts(
    master: Identity, no_purgers: None
) -> None:
    maintenance.register_purger(lambda: {"versions purged": 2})
    maintenance.register_purger(lambda: {"versions purged": 1, "uploads": 4})
    report = maintenance.collect_garbage()
    assert report.purged == {"versions purged": 3, "uploads": 4}
