"""``cohortvault keys …`` and ``cohortvault storage …`` run as real processes, the way an
operator runs them, against instances made by ``cohortvault init``.

One instance is made for the module, holding two area keys and a blob in the logs area; every
test works on a private copy of it. The blob is read back by a small script run with the same
Python, as the server would read it.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import select
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pyrage
import pytest

from cohortvault.storage.cli import share_qr_svg
from cohortvault.storage.keyfile import write_identity_file
from tests.commands import COHORTVAULT, cohortvault, environment, mode, python

ADMIN_PASSWORD = "a long admin passphrase 1"
CONTENT = "visit 2 cognition scores, encrypted at rest\n"
GRACE_SECONDS = 3600  # storage.maintenance.GRACE_SECONDS

WRITE_BLOB = """
import io, sys
from pathlib import Path
from cohortvault.instance import activate
activate(Path(sys.argv[1]))
from cohortvault.access.policy import Area
from cohortvault.storage import blobs, keys, maintenance
from cohortvault.storage.models import Blob
row = keys.ensure_area_key(Area.logs())
keys.ensure_area_key(Area.project("alpha"))
secrets = keys.secrets_for(row)
blob = Blob(area_key=row)
part = blobs.write_part(maintenance.backend(), secrets, blob.id.hex, 0,
                        io.BytesIO(sys.argv[2].encode()))
blob.size, blob.part_sizes, blob.part_checksums = part.size, [part.size], [part.checksum]
blob.checksum = blobs.combine_checksums(secrets.mac_key, [part.checksum])
blob.complete = True
blob.save()
print(blob.id.hex)
"""

READ_BLOB = """
import sys
from pathlib import Path
from cohortvault.instance import activate
activate(Path(sys.argv[1]))
from cohortvault.storage import blobs, keys, maintenance
from cohortvault.storage.models import Blob
blob = Blob.objects.select_related("area_key").get(id=sys.argv[2])
secrets = keys.secrets_for(blob.area_key)
data = b"".join(blobs.read_part(maintenance.backend(), secrets, blob.id.hex, 0))
sys.stdout.write(data.decode())
"""


def public_key(data_dir: Path) -> str:
    shown = cohortvault("keys", "show", "--data-dir", data_dir)
    assert shown.returncode == 0, shown.stderr
    match = re.search(r"master public key: (age1\w+)", shown.stdout)
    assert match, shown.stdout
    return match.group(1)


def audit_actions(data_dir: Path) -> list[tuple[str, str, str]]:
    with contextlib.closing(sqlite3.connect(data_dir / "cohortvault.sqlite3")) as connection:
        return connection.execute(
            "SELECT action, outcome, details FROM audit_auditentry ORDER BY seq"
        ).fetchall()


@dataclass(frozen=True)
class Instance:
    data_dir: Path
    blob_id: str

    @property
    def key_file(self) -> Path:
        return self.data_dir / "master.key"

    def blob_file(self) -> Path:
        blob_id = self.blob_id
        return self.data_dir / "blobs" / blob_id[:2] / f"{blob_id}.0"

    def read_blob(self) -> subprocess.CompletedProcess[str]:
        return python(READ_BLOB, self.data_dir, self.blob_id)

    def paper_backup(self, output: Path, *, shares: int = 3, threshold: int = 2) -> list[str]:
        result = cohortvault(
            "keys", "paper-backup", "--data-dir", self.data_dir,
            "--shares", str(shares), "--threshold", str(threshold), "--output", output,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return mnemonics_in(output.read_text(encoding="utf-8"))

    def recover(self, *share_files: Path, force: bool = False) -> subprocess.CompletedProcess[str]:
        options = [item for path in share_files for item in ("--share-file", str(path))]
        return cohortvault(
            "keys",
            "recover",
            "--data-dir",
            self.data_dir,
            *options,
            *(["--force"] if force else []),
        )


def mnemonics_in(page: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'data-mnemonic="([^"]*)"', page)]


def make_instance(data_dir: Path) -> Instance:
    created = cohortvault("init", "--data-dir", data_dir, "--admin-password", ADMIN_PASSWORD)
    assert created.returncode == 0, created.stderr
    written = python(WRITE_BLOB, data_dir, CONTENT)
    assert written.returncode == 0, written.stderr
    return Instance(data_dir, written.stdout.strip())


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Instance:
    return make_instance(tmp_path_factory.mktemp("keys") / "instance")


@pytest.fixture(scope="module")
def foreign_shares(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Paper shares of another instance."""
    other = make_instance(tmp_path_factory.mktemp("other") / "instance")
    return other.paper_backup(other.data_dir.parent / "shares.html")


@pytest.fixture
def instance(pristine: Instance, tmp_path: Path) -> Instance:
    copy = tmp_path / "instance"
    shutil.copytree(pristine.data_dir, copy)
    return Instance(copy, pristine.blob_id)


def share_files(directory: Path, mnemonics: list[str]) -> list[Path]:
    paths = []
    for number, mnemonic in enumerate(mnemonics, start=1):
        path = directory / f"share-{number}.txt"
        path.write_text(mnemonic + "\n")
        paths.append(path)
    return paths


# --- paper backup ---------------------------------------------------------------------------


def test_paper_backup_writes_a_private_printable_page_with_one_section_per_share(
    instance: Instance, tmp_path: Path
) -> None:
    output = tmp_path / "shares.html"
    key = public_key(instance.data_dir)
    result = cohortvault(
        "keys", "paper-backup", "--data-dir", instance.data_dir,
        "--shares", "3", "--threshold", "2", "--output", output,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(output.resolve())
    assert "full copy of the master key" in result.stderr
    assert mode(output) == 0o600
    page = output.read_text(encoding="utf-8")
    mnemonics = mnemonics_in(page)
    assert len(mnemonics) == 3
    for mnemonic in mnemonics:
        words = mnemonic.split()
        assert len(words) == 33
        for spoken in (mnemonic, " ".join(words[3:8])):
            assert spoken not in result.stdout
            assert spoken not in result.stderr
    sections = re.findall(r'<section class="share" data-share="(\d+)">(.*?)</section>', page, re.S)
    assert [number for number, _ in sections] == ["1", "2", "3"]
    for number, body in sections:
        assert f"share {number} of 3" in body
        assert "any 2 of the 3 shares" in body
        assert key in body
        assert body.count("<svg") == 1
        qr = share_qr_svg(mnemonics[int(number) - 1], title=f"Share {number} of 3")
        assert qr in body  # the QR code of this section's own words
        assert "different safe" in body
        assert re.search(r"<dt>Made</dt><dd>\d{4}-\d{2}-\d{2}</dd>", body)
        assert "cohortvault keys recover" in body
        grid = re.findall(r'<span class="n">(\d+)\.</span><span class="word">(\w+)</span>', body)
        assert [int(n) for n, _ in grid] == list(range(1, 34))
        assert " ".join(word for _, word in grid) == mnemonics[int(number) - 1]
    assert "page-break-after: always" in page
    assert "http://" not in page and "https://" not in page  # self-contained
    assert "AGE-SECRET-KEY" not in page


def test_paper_backup_refuses_to_overwrite_a_file(instance: Instance, tmp_path: Path) -> None:
    output = tmp_path / "shares.html"
    output.write_text("precious")
    result = cohortvault(
        "keys", "paper-backup", "--data-dir", instance.data_dir,
        "--shares", "3", "--threshold", "2", "--output", output,
    )  # fmt: skip
    assert result.returncode == 1
    assert "already exists" in result.stderr
    assert output.read_text() == "precious"


@pytest.mark.parametrize(
    ("shares", "threshold", "message"),
    [("3", "1", "threshold of 1"), ("2", "3", "threshold"), ("17", "2", "")],
)
def test_paper_backup_refuses_unsafe_counts(
    instance: Instance, tmp_path: Path, shares: str, threshold: str, message: str
) -> None:
    output = tmp_path / "shares.html"
    result = cohortvault(
        "keys", "paper-backup", "--data-dir", instance.data_dir,
        "--shares", shares, "--threshold", threshold, "--output", output,
    )  # fmt: skip
    assert result.returncode in (1, 2)
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not output.exists()


# --- recovery -------------------------------------------------------------------------------


def test_recover_from_two_of_three_shares_restores_a_working_key_file(
    instance: Instance, tmp_path: Path
) -> None:
    key = public_key(instance.data_dir)
    mnemonics = instance.paper_backup(tmp_path / "shares.html")
    instance.key_file.unlink()
    missing = cohortvault("keys", "show", "--data-dir", instance.data_dir)
    assert missing.returncode == 1
    assert "keys recover" in missing.stderr
    assert instance.read_blob().returncode != 0

    first, _, third = share_files(tmp_path, mnemonics)
    result = instance.recover(first, third)

    assert result.returncode == 0, result.stderr
    assert key in result.stdout
    assert mode(instance.key_file) == 0o600
    assert public_key(instance.data_dir) == key
    read = instance.read_blob()
    assert read.returncode == 0, read.stderr
    assert read.stdout == CONTENT
    for mnemonic in mnemonics:
        assert " ".join(mnemonic.split()[3:8]) not in result.stdout + result.stderr


def test_recover_accepts_every_share_in_one_file_and_words_copied_from_the_grid(
    instance: Instance, tmp_path: Path
) -> None:
    mnemonics = instance.paper_backup(tmp_path / "shares.html")
    instance.key_file.unlink()
    together = tmp_path / "all.txt"
    together.write_text("\n".join(mnemonics) + "\n")
    assert instance.recover(together).returncode == 0

    instance.key_file.unlink()
    copied = tmp_path / "grid.txt"
    words = mnemonics[1].upper().split()
    copied.write_text("\n".join(f"{i}. {w}   " for i, w in enumerate(words, start=1)))
    result = instance.recover(copied, share_files(tmp_path, mnemonics[2:])[0])
    assert result.returncode == 0, result.stderr
    assert instance.read_blob().stdout == CONTENT


def test_recover_reads_shares_piped_to_it(instance: Instance, tmp_path: Path) -> None:
    mnemonics = instance.paper_backup(tmp_path / "shares.html")
    instance.key_file.unlink()
    result = cohortvault(
        "keys", "recover", "--data-dir", instance.data_dir, input="\n".join(mnemonics[:2]) + "\n"
    )
    assert result.returncode == 0, result.stderr
    assert instance.read_blob().stdout == CONTENT


def test_recover_asks_for_missing_shares_without_echoing_them(
    instance: Instance, tmp_path: Path
) -> None:
    mnemonics = instance.paper_backup(tmp_path / "shares.html")
    instance.key_file.unlink()
    terminal, stdin = os.openpty()
    process = subprocess.Popen(
        [str(COHORTVAULT), "keys", "recover", "--data-dir", str(instance.data_dir)],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment(),
        start_new_session=True,  # no controlling terminal: the prompt uses the pty on stdin
    )
    os.close(stdin)
    prompts = b""
    typed = [mnemonics[2], "not a share at all", mnemonics[0]]
    try:
        assert process.stderr is not None
        for count, text in enumerate(typed, start=1):
            # The space after the colon is written once echo is off.
            while prompts.count(b"(hidden): ") < count:
                ready, _, _ = select.select([process.stderr], [], [], 60)
                assert ready, f"no prompt; stderr so far: {prompts!r}"
                chunk = os.read(process.stderr.fileno(), 4096)
                assert chunk, f"process ended; stderr: {prompts!r}"
                prompts += chunk
            os.write(terminal, text.encode() + b"\n")
        stdout, rest = process.communicate(timeout=120)
        echoed = b""
        with contextlib.suppress(OSError):
            while select.select([terminal], [], [], 0)[0]:
                chunk = os.read(terminal, 4096)
                if not chunk:
                    break
                echoed += chunk
    finally:
        os.close(terminal)
        if process.poll() is None:
            process.kill()
            process.wait()
    errors = (prompts + rest).decode()

    assert process.returncode == 0, errors
    assert "Accepted share 1 of 2" in errors
    assert "Not accepted" in errors
    assert public_key(instance.data_dir) in stdout.decode()
    for mnemonic in mnemonics:
        assert " ".join(mnemonic.split()[3:8]).encode() not in echoed + stdout + prompts + rest
    assert instance.read_blob().stdout == CONTENT


def test_recover_with_too_few_shares_writes_nothing(instance: Instance, tmp_path: Path) -> None:
    mnemonics = instance.paper_backup(tmp_path / "shares.html")
    instance.key_file.unlink()
    result = instance.recover(*share_files(tmp_path, mnemonics[:1]))
    assert result.returncode == 1
    assert "1 share(s) given but 2 needed" in result.stderr
    assert not instance.key_file.exists()


def test_recover_refuses_shares_of_another_instance(
    instance: Instance, tmp_path: Path, foreign_shares: list[str]
) -> None:
    instance.key_file.unlink()
    result = instance.recover(*share_files(tmp_path, foreign_shares[:2]))
    assert result.returncode == 1
    assert "another instance" in result.stderr
    assert "Nothing was written" in result.stderr
    assert not instance.key_file.exists()
    assert ("keys.recover", "failed") in [(a, o) for a, o, _ in audit_actions(instance.data_dir)]


def test_recover_refuses_shares_from_two_sets(
    instance: Instance, tmp_path: Path, foreign_shares: list[str]
) -> None:
    ours = instance.paper_backup(tmp_path / "shares.html")
    instance.key_file.unlink()
    result = instance.recover(*share_files(tmp_path, [ours[0], foreign_shares[1]]))
    assert result.returncode == 1
    assert "different set" in result.stderr
    assert not instance.key_file.exists()


def test_recover_leaves_an_existing_key_file_alone_unless_forced(
    instance: Instance, tmp_path: Path, foreign_shares: list[str]
) -> None:
    mnemonics = instance.paper_backup(tmp_path / "shares.html")
    before = instance.key_file.read_bytes()
    ours = share_files(tmp_path, mnemonics[:2])

    refused = instance.recover(*ours)
    assert refused.returncode == 1
    assert "--force" in refused.stderr

    (tmp_path / "foreign").mkdir()
    wrong = instance.recover(*share_files(tmp_path / "foreign", foreign_shares[:2]), force=True)
    assert wrong.returncode == 1
    assert instance.key_file.read_bytes() == before

    forced = instance.recover(*ours, force=True)
    assert forced.returncode == 0, forced.stderr
    assert mode(instance.key_file) == 0o600
    assert instance.read_blob().stdout == CONTENT


def test_recover_refuses_when_the_master_key_comes_from_the_environment(
    instance: Instance, tmp_path: Path
) -> None:
    mnemonics = instance.paper_backup(tmp_path / "shares.html")
    secret = instance.key_file.read_text().splitlines()[-1]
    instance.key_file.unlink()
    first, second = share_files(tmp_path, mnemonics[:2])
    result = cohortvault(
        "keys", "recover", "--data-dir", instance.data_dir,
        "--share-file", first, "--share-file", second,
        env=environment(COHORTVAULT_MASTER_KEY=secret),
    )  # fmt: skip
    assert result.returncode == 1
    assert "COHORTVAULT_MASTER_KEY" in result.stderr
    assert not instance.key_file.exists()


# --- rotation -------------------------------------------------------------------------------


def test_rotate_master_changes_the_key_and_old_shares_stop_working(
    instance: Instance, tmp_path: Path
) -> None:
    old_key = public_key(instance.data_dir)
    old_shares = share_files(tmp_path, instance.paper_backup(tmp_path / "old.html")[:2])

    rotated = cohortvault("keys", "rotate-master", "--data-dir", instance.data_dir, "--yes")

    assert rotated.returncode == 0, rotated.stderr
    new_key = public_key(instance.data_dir)
    assert new_key != old_key
    assert f"New master key: {new_key}" in rotated.stdout
    assert "paper-backup" in rotated.stderr
    assert mode(instance.key_file) == 0o600
    assert instance.read_blob().stdout == CONTENT

    instance.key_file.unlink()
    stale = instance.recover(*old_shares)
    assert stale.returncode == 1
    assert old_key in stale.stderr
    assert "rotate-master" in stale.stderr
    assert not instance.key_file.exists()


def test_new_shares_after_rotation_recover_the_new_key(instance: Instance, tmp_path: Path) -> None:
    rotated = cohortvault("keys", "rotate-master", "--data-dir", instance.data_dir, "--yes")
    assert rotated.returncode == 0, rotated.stderr
    new_key = public_key(instance.data_dir)
    mnemonics = instance.paper_backup(tmp_path / "new.html")
    instance.key_file.unlink()
    result = instance.recover(*share_files(tmp_path, mnemonics[1:]))
    assert result.returncode == 0, result.stderr
    assert public_key(instance.data_dir) == new_key
    assert instance.read_blob().stdout == CONTENT
    details = [d for a, o, d in audit_actions(instance.data_dir) if a == "keys.rotate_master"]
    assert len(details) == 1
    assert new_key in details[0]


def test_rotate_master_asks_first(instance: Instance) -> None:
    key = public_key(instance.data_dir)
    declined = cohortvault("keys", "rotate-master", "--data-dir", instance.data_dir, input="n\n")
    assert declined.returncode == 1
    assert "paper share" in declined.stderr
    assert public_key(instance.data_dir) == key


def test_rotate_master_refuses_a_key_from_the_environment(instance: Instance) -> None:
    secret = instance.key_file.read_text().splitlines()[-1]
    key = public_key(instance.data_dir)
    instance.key_file.unlink()
    env = environment(COHORTVAULT_MASTER_KEY=secret)

    shown = cohortvault("keys", "show", "--data-dir", instance.data_dir, env=env)
    assert shown.returncode == 0, shown.stderr
    assert "environment variable COHORTVAULT_MASTER_KEY" in shown.stdout
    assert key in shown.stdout

    result = cohortvault("keys", "rotate-master", "--yes", "--data-dir", instance.data_dir, env=env)
    assert result.returncode == 1
    assert "COHORTVAULT_MASTER_KEY" in result.stderr
    assert "Traceback" not in result.stderr
    assert not instance.key_file.exists()
    verified = cohortvault("storage", "verify", "--data-dir", instance.data_dir, env=env)
    assert verified.returncode == 0, verified.stderr


# --- show, destroy ---------------------------------------------------------------------------


def test_keys_show_names_the_key_its_source_and_the_area_keys(instance: Instance) -> None:
    result = cohortvault("keys", "show", "--data-dir", instance.data_dir)
    assert result.returncode == 0, result.stderr
    assert f"key file {instance.key_file.resolve()} (mode 0600)" in result.stdout
    match = re.search(r"area keys:\s+(\d+) \((\d+) destroyed\)", result.stdout)
    assert match
    assert int(match.group(1)) >= 2  # logs and projects/alpha, and the administrator's home
    assert match.group(2) == "0"
    assert "AGE-SECRET-KEY" not in result.stdout


def test_keys_show_notices_a_key_file_that_is_not_the_instances(instance: Instance) -> None:
    write_identity_file(instance.key_file, pyrage.x25519.Identity.generate())
    result = cohortvault("keys", "show", "--data-dir", instance.data_dir)
    assert result.returncode == 1
    assert "not this key" in result.stderr


def test_destroy_needs_the_confirmation_flag(instance: Instance) -> None:
    refused = cohortvault("keys", "destroy", "logs", "--data-dir", instance.data_dir)
    assert refused.returncode == 1
    assert "--yes-really" in refused.stderr
    assert instance.read_blob().stdout == CONTENT

    destroyed = cohortvault(
        "keys", "destroy", "logs", "--yes-really", "--data-dir", instance.data_dir
    )
    assert destroyed.returncode == 0, destroyed.stderr
    assert "1 blob(s) can never be read again" in destroyed.stdout
    unreadable = instance.read_blob()
    assert unreadable.returncode != 0
    assert "destroyed" in unreadable.stderr

    again = cohortvault("keys", "destroy", "logs", "--yes-really", "--data-dir", instance.data_dir)
    assert again.returncode == 1
    assert "already destroyed" in again.stderr
    unknown = cohortvault(
        "keys", "destroy", "projects/nowhere", "--yes-really", "--data-dir", instance.data_dir
    )
    assert unknown.returncode == 1
    assert "Traceback" not in unknown.stderr

    shown = cohortvault("keys", "show", "--data-dir", instance.data_dir)
    assert "(1 destroyed)" in shown.stdout
    verified = cohortvault("storage", "verify", "--data-dir", instance.data_dir)
    assert verified.returncode == 0, verified.stderr
    assert "1 crypto-shredded" in verified.stdout


# --- the blob store -------------------------------------------------------------------------


def test_storage_verify_finds_a_tampered_and_a_missing_blob(instance: Instance) -> None:
    clean = cohortvault("storage", "verify", "--data-dir", instance.data_dir)
    assert clean.returncode == 0, clean.stderr
    assert clean.stdout.strip() == "ok: 1 blobs verified"

    path = instance.blob_file()
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x40
    path.write_bytes(bytes(data))
    tampered = cohortvault("storage", "verify", "--data-dir", instance.data_dir)
    assert tampered.returncode == 1
    assert f"PROBLEM blob {instance.blob_id} (logs)" in tampered.stderr
    assert "1 problem(s) in 1 blobs" in tampered.stderr

    path.unlink()
    missing = cohortvault("storage", "verify", "--data-dir", instance.data_dir)
    assert missing.returncode == 1
    assert "missing" in missing.stderr


def test_storage_verify_without_the_master_key_fails_cleanly(instance: Instance) -> None:
    instance.key_file.unlink()
    result = cohortvault("storage", "verify", "--data-dir", instance.data_dir)
    assert result.returncode == 1
    assert "keys recover" in result.stderr
    assert "Traceback" not in result.stderr


def test_storage_gc_removes_old_unreferenced_blobs_only(instance: Instance) -> None:
    directory = instance.data_dir / "blobs" / "ab"
    directory.mkdir(parents=True)
    old, fresh = directory / f"abcd{'0' * 28}.0", directory / f"abcd{'1' * 28}.0"
    old.write_bytes(b"left over")
    fresh.write_bytes(b"being written")
    moment = time.time() - GRACE_SECONDS - 60
    os.utime(old, (moment, moment))

    result = cohortvault("storage", "gc", "--data-dir", instance.data_dir)

    assert result.returncode == 0, result.stderr
    assert "unreferenced blobs removed: 1" in result.stdout
    assert not old.exists()
    assert fresh.exists()
    gc_entries = [d for a, o, d in audit_actions(instance.data_dir) if a == "storage.gc"]
    assert len(gc_entries) == 1
    assert '"orphans_removed": 1' in gc_entries[0]


# --- the audit trail ------------------------------------------------------------------------


def test_every_key_operation_is_audited_without_its_secrets(
    instance: Instance, tmp_path: Path
) -> None:
    mnemonics = instance.paper_backup(tmp_path / "shares.html")
    instance.key_file.unlink()
    assert instance.recover(*share_files(tmp_path, mnemonics[:2])).returncode == 0
    steps = [
        ("keys", "rotate-master", "--yes"),
        ("storage", "verify"),
        ("storage", "gc"),
        ("keys", "destroy", "projects/alpha", "--yes-really"),
    ]
    for step in steps:
        result = cohortvault(*step, "--data-dir", instance.data_dir)
        assert result.returncode == 0, (step, result.stderr)

    entries = audit_actions(instance.data_dir)
    actions = [(action, outcome) for action, outcome, _ in entries]
    for action in (
        "keys.paper_backup",
        "keys.recover",
        "keys.rotate_master",
        "storage.verify",
        "storage.gc",
        "keys.destroy",
    ):
        assert (action, "ok") in actions
    backup = next(d for a, _, d in entries if a == "keys.paper_backup")
    assert '"shares": 3' in backup and '"threshold": 2' in backup
    database = (instance.data_dir / "cohortvault.sqlite3").read_bytes()
    for mnemonic in mnemonics:
        assert " ".join(mnemonic.split()[3:8]).encode() not in database
    assert b"AGE-SECRET-KEY" not in database

    verified = cohortvault("audit", "verify", "--data-dir", instance.data_dir)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("ok:")
