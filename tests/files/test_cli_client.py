"""The ``cohortvault login`` and ``cohortvault files`` commands against a live server.

pytest-django's live server runs the real application in this process against the test
database; the commands run as the real console script in subprocesses, with their own client
configuration under ``tmp_path``, exactly as a user's shell would run them.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from django.db import connection
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django.live_server_helper import LiveServer

from cohortvault.access.policy import Role
from cohortvault.audit.models import AuditEntry
from cohortvault.cli import main
from cohortvault.files.client import Client, ClientError, UnsafeName, local_target
from cohortvault.files.models import Node, Upload
from cohortvault.identity.models import ApiToken, User
from tests import factories
from tests.files import traversal

COHORTVAULT = Path(sys.executable).parent / "cohortvault"
API = "/api/v1"
MiB = 1024 * 1024


@dataclass
class Person:
    user: User
    device: TOTPDevice

    @property
    def username(self) -> str:
        return self.user.get_username()


@dataclass
class Shell:
    """Runs ``cohortvault`` as a user would, with a client configuration of its own."""

    config: Path
    server: str
    cwd: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COHORTVAULT_")}
        env["COHORTVAULT_CLIENT_CONFIG"] = str(self.config)
        env["HOME"] = str(self.cwd)
        if connection.vendor == "sqlite":
            # the test database is SQLite in memory, whose shared cache answers concurrent
            # writers (every read is audited) with "table is locked" instead of waiting
            env["COHORTVAULT_CLIENT_THREADS"] = "1"
        env.update(extra)
        return env

    def run(
        self, *args: str, input: str | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(COHORTVAULT), *args],
            input=input,
            capture_output=True,
            text=True,
            env=self.env(**env),
            cwd=self.cwd,
            timeout=60,
            check=False,
        )

    def files(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return self.run("files", *args, **env)

    def ok(self, *args: str, **env: str) -> str:
        result = self.files(*args, **env)
        assert result.returncode == 0, result.stderr
        return result.stdout


def person(username: str, role: Role, **scope: Any) -> Person:
    user = factories.make_user(username)
    device = factories.enrol_totp(user)
    factories.grant(user, role, **scope)
    return Person(user, device)


def token_for(server: str, someone: Person) -> dict[str, str]:
    response = httpx.post(
        f"{server}{API}/auth/token",
        json={
            "username": someone.username,
            "password": factories.PASSWORD,
            "otp": factories.code_for(someone.device),
        },
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture
def server(live_server: LiveServer, transactional_db: None) -> str:
    """The live server's URL, its database the transactional test database.

    Django's test server sends headers and body in separate writes; without TCP_NODELAY each
    response on a kept-alive connection waits for the client's delayed ACK (about 40 ms).
    """
    live_server.thread.httpd.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return str(live_server.url)


@pytest.fixture
def oslo(server: str) -> Person:
    site = factories.make_site("oslo")
    factories.make_site("berlin")
    return person("oslo1", Role.SITE_MEMBER, site=site)


@pytest.fixture
def shell(server: str, tmp_path: Path) -> Shell:
    work = tmp_path / "work"
    work.mkdir()
    return Shell(config=tmp_path / "client" / "client.json", server=server, cwd=work)


@pytest.fixture
def member(shell: Shell, oslo: Person) -> Shell:
    """A shell whose user, a member of site oslo, is logged in (token from the API)."""
    issued = token_for(shell.server, oslo)
    shell.config.parent.mkdir(mode=0o700)
    shell.config.write_text(
        json.dumps(
            {
                "server": shell.server,
                "token": issued["token"],
                "expires_at": issued["expires_at"],
                "username": oslo.username,
            }
        )
    )
    shell.config.chmod(0o600)
    return shell


def api(server: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=f"{server}{API}", headers={"Authorization": f"Bearer {token}"})


def stored_token(shell: Shell) -> str:
    return str(json.loads(shell.config.read_text())["token"])


def tree_of(root: Path) -> dict[str, bytes | None]:
    """Every file (with content) and folder (None) under root, by relative name."""
    found: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        found[name] = None if path.is_dir() else path.read_bytes()
    return found


# --- login ------------------------------------------------------------------------------------


def test_login_keeps_a_private_token_and_logout_revokes_it(shell: Shell, oslo: Person) -> None:
    refused = shell.run(
        "login", "--server", shell.server, "--username", "oslo1", input="wrong password\n123456\n"
    )
    assert refused.returncode == 4, refused.stderr
    assert not shell.config.exists()

    code = factories.code_for(oslo.device)
    result = shell.run(
        "login",
        "--server",
        shell.server + "/",
        "--username",
        "oslo1",
        input=f"{factories.PASSWORD}\n{code}\n",
    )
    assert result.returncode == 0, result.stderr
    assert "Logged in" in result.stdout and factories.PASSWORD not in result.stdout + result.stderr
    assert stat.S_IMODE(shell.config.stat().st_mode) == 0o600
    assert stat.S_IMODE(shell.config.parent.stat().st_mode) == 0o700
    saved = json.loads(shell.config.read_text())
    assert saved["server"] == shell.server and saved["username"] == "oslo1"
    assert saved["token"] and saved["expires_at"]
    assert shell.files("ls", "sites/oslo/import").returncode == 0

    out = shell.run("logout")
    assert out.returncode == 0, out.stderr
    assert not shell.config.exists()
    assert ApiToken.objects.get(user=oslo.user).revoked_at is not None
    with api(shell.server, saved["token"]) as http:
        assert http.get("/me").status_code == 401
    again = shell.files("ls", "sites/oslo/import")
    assert again.returncode == 4 and "cohortvault login" in again.stderr


# --- transfers --------------------------------------------------------------------------------


def test_put_and_get_round_trip_a_file(member: Shell, tmp_path: Path) -> None:
    content = os.urandom(300_000)
    local = tmp_path / "scores.bin"
    local.write_bytes(content)
    stored = member.ok("put", str(local), "sites/oslo/import/wave1/scores.bin")
    assert "sites/oslo/import/wave1/scores.bin" in stored

    fetched = tmp_path / "fetched.bin"
    member.ok("get", "sites/oslo/import/wave1/scores.bin", str(fetched))
    assert fetched.read_bytes() == content
    assert stat.S_IMODE(fetched.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []

    empty = tmp_path / "empty.csv"
    empty.touch()
    member.ok("put", str(empty), "sites/oslo/import/empty.csv")
    member.ok("get", "sites/oslo/import/empty.csv", str(tmp_path / "empty-back.csv"))
    assert (tmp_path / "empty-back.csv").read_bytes() == b""

    # into an existing folder, both ways; and to standard output
    member.ok("put", str(local), "sites/oslo/import/wave1")
    member.ok("mkdir", "sites/oslo/import/wave2")
    member.ok("put", "-q", str(local), "sites/oslo/import/wave2/")
    into = tmp_path / "into"
    into.mkdir()
    member.ok("get", "sites/oslo/import/wave2/scores.bin", str(into))
    assert (into / "scores.bin").read_bytes() == content
    piped = subprocess.run(
        [str(COHORTVAULT), "files", "get", "sites/oslo/import/wave1/scores.bin", "-"],
        capture_output=True,
        env=member.env(),
        check=True,
    )
    assert piped.stdout == content

    listing = member.ok("ls", "sites/oslo/import/wave1")
    assert listing.split() == ["scores.bin"]
    assert member.ok("ls", "sites/oslo/import/wave1/scores.bin").split() == ["scores.bin"]
    folder = member.files("get", "sites/oslo/import/wave1", str(tmp_path / "w"))
    assert folder.returncode == 2 and "-r" in folder.stderr
    assert not (tmp_path / "w").exists()
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".part")] == []
    long = member.ok("ls", "--long", "sites/oslo/import")
    assert "wave1/" in long and "wave2/" in long
    info = json.loads(member.ok("stat", "--json", "sites/oslo/import/wave1/scores.bin"))
    assert info["size"] == len(content) and info["kind"] == "file"
    areas = member.ok("ls")
    assert "sites/oslo/import/" in areas.split()


def test_a_failed_download_leaves_no_half_file(tmp_path: Path) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        def cut_short() -> Iterator[bytes]:
            yield b"x" * 1000
            raise httpx.ReadError("connection reset")

        return httpx.Response(
            200,
            headers={"Content-Length": "5000", "Content-Type": "application/octet-stream"},
            stream=_Stream(cut_short()),
        )

    target = tmp_path / "out.bin"
    target.write_bytes(b"previous content")
    client = Client("http://vault.invalid", "t", transport=httpx.MockTransport(answer))
    with client, pytest.raises(ClientError) as caught:
        client.get_file("sites/oslo/import/a.bin", target)
    assert caught.value.status == 0
    assert target.read_bytes() == b"previous content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


class _Stream(httpx.SyncByteStream):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        return self.chunks


def test_recursive_put_ls_and_get_reproduce_a_tree(member: Shell, tmp_path: Path) -> None:
    source = tmp_path / "survey"
    expected: dict[str, bytes | None] = {}
    for index in range(120):
        folder = f"wave{index % 3}/site{index % 4}"
        name = f"{folder}/record{index:03}.csv"
        expected[name] = f"id,score\n{index},{index * 7}\n".encode() * (1 + index % 5)
    expected["wave0/notes æøå.txt"] = "Blåbær\n".encode()
    expected["wave0/large.bin"] = os.urandom(2 * MiB + 5)  # goes alone, not in a batch
    for name, content in expected.items():
        path = source / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content or b"")
    (source / "empty" / "inner").mkdir(parents=True)
    expected = tree_of(source)

    result = member.files(
        "put", "-r", str(source), "sites/oslo/import/", COHORTVAULT_CLIENT_CHUNK_SIZE="1M"
    )
    assert result.returncode == 0, result.stderr
    assert "stored 122 files" in result.stdout

    listing = member.ok("ls", "sites/oslo/import/survey").split()
    assert listing == ["empty/", "wave0/", "wave1/", "wave2/"]
    assert "record000.csv" in member.ok("ls", "sites/oslo/import/survey/wave0/site0")

    writes = AuditEntry.objects.filter(action="files.write", target__contains="/survey/")
    assert writes.count() == 122
    assert writes.filter(details__batch=True).count() == 121  # small files travel in batches

    out = tmp_path / "out"
    fetched = member.files("get", "-r", "sites/oslo/import/survey", str(out))
    assert fetched.returncode == 0, fetched.stderr
    assert tree_of(out / "survey") == expected


def test_recursive_put_stores_what_it_can_and_names_what_it_cannot(
    member: Shell, tmp_path: Path
) -> None:
    source = tmp_path / "batch"
    source.mkdir()
    for name in ["a.csv", "b.csv", "what?.csv", "c.csv"]:
        (source / name).write_bytes(name.encode())
    result = member.files("put", "-r", str(source), "sites/oslo/import/")
    assert result.returncode == 6
    assert "what?.csv" in result.stderr and "stored 3 files" in result.stdout
    assert member.ok("ls", "sites/oslo/import/batch").split() == ["a.csv", "b.csv", "c.csv"]


def test_versions_and_restore_of_an_earlier_version(member: Shell, tmp_path: Path) -> None:
    local = tmp_path / "a.csv"
    for content in (b"first\n", b"second\n"):
        local.write_bytes(content)
        member.ok("put", str(local), "sites/oslo/import/a.csv")
    history = json.loads(member.ok("versions", "--json", "sites/oslo/import/a.csv"))
    assert [v["current"] for v in history] == [True, False]
    older = str(history[1]["id"])
    assert "kept until" in member.ok("versions", "sites/oslo/import/a.csv")

    old_copy = tmp_path / "old.csv"
    member.ok("get", "--version", older, "sites/oslo/import/a.csv", str(old_copy))
    assert old_copy.read_bytes() == b"first\n"
    member.ok("restore", "--version", older, "sites/oslo/import/a.csv")
    member.ok("get", "sites/oslo/import/a.csv", str(tmp_path / "now.csv"))
    assert (tmp_path / "now.csv").read_bytes() == b"first\n"
    assert len(json.loads(member.ok("versions", "--json", "sites/oslo/import/a.csv"))) == 3


def test_rm_then_deleted_then_restore(member: Shell, tmp_path: Path) -> None:
    local = tmp_path / "a.csv"
    local.write_bytes(b"keep me\n")
    member.ok("put", str(local), "sites/oslo/import/box/a.csv")
    member.ok("rm", "sites/oslo/import/box/a.csv")
    assert member.files("get", "sites/oslo/import/box/a.csv", str(tmp_path / "x")).returncode == 3
    deleted = json.loads(member.ok("deleted", "--json", "sites/oslo/import"))
    assert [d["path"] for d in deleted] == ["sites/oslo/import/box/a.csv"]
    assert "sites/oslo/import/box/a.csv" in member.ok("deleted", "sites/oslo/import")
    member.ok("restore", "sites/oslo/import/box/a.csv")
    member.ok("get", "sites/oslo/import/box/a.csv", str(tmp_path / "back.csv"))
    assert (tmp_path / "back.csv").read_bytes() == b"keep me\n"

    folder = member.files("rm", "sites/oslo/import/box")
    assert folder.returncode == 2 and "-r" in folder.stderr
    member.ok("rm", "-r", "sites/oslo/import/box")
    assert member.files("ls", "sites/oslo/import/box").returncode == 3
    member.ok("restore", "sites/oslo/import/box")
    assert member.ok("ls", "sites/oslo/import/box").split() == ["a.csv"]


def test_mkdir_and_mv(member: Shell, tmp_path: Path) -> None:
    local = tmp_path / "a.csv"
    local.write_bytes(b"1\n")
    member.ok("mkdir", "sites/oslo/import/one/two")
    assert member.ok("ls", "sites/oslo/import/one").split() == ["two/"]
    member.ok("put", str(local), "sites/oslo/import/a.csv")
    member.ok("mv", "sites/oslo/import/a.csv", "sites/oslo/import/one/two/")
    member.ok("mv", "sites/oslo/import/one/two/a.csv", "sites/oslo/import/one/two/b.csv")
    assert member.ok("ls", "sites/oslo/import/one/two").split() == ["b.csv"]
    member.ok("mv", "sites/oslo/import/one", "sites/oslo/import/renamed")
    assert member.ok("ls", "sites/oslo/import").split() == ["renamed/"]


def test_large_file_goes_resumable_and_resumes_after_an_interruption(
    member: Shell, tmp_path: Path, oslo: Person
) -> None:
    content = os.urandom(3 * MiB + 12345)
    local = tmp_path / "scan.nii"
    local.write_bytes(content)
    remote = "sites/oslo/import/imaging/scan.nii"
    small_chunks = {"COHORTVAULT_CLIENT_CHUNK_SIZE": "1M"}

    stop_after_one = {"COHORTVAULT_CLIENT_STOP_AFTER_CHUNKS": "1"}

    stopped = member.files("put", str(local), remote, **stop_after_one, **small_chunks)
    assert stopped.returncode == 130, stopped.stderr
    assert "run the same command again" in stopped.stderr.lower()
    upload = Upload.objects.select_related("blob").get()
    assert upload.blob.size == MiB and upload.expected_size == len(content)
    assert member.files("stat", remote).returncode == 3  # nothing visible before completion
    assert len(list((member.config.parent / "uploads").glob("*.json"))) == 1

    resumed = member.files("put", str(local), remote, **small_chunks)
    assert resumed.returncode == 0, resumed.stderr
    member.ok("get", remote, str(tmp_path / "back.nii"))
    assert (tmp_path / "back.nii").read_bytes() == content
    assert not Upload.objects.exists()
    assert list((member.config.parent / "uploads").glob("*.json")) == []
    starts = AuditEntry.objects.filter(action="files.upload.start")
    chunks = AuditEntry.objects.filter(action="files.upload.append").order_by("seq")
    assert starts.count() == 1  # the second run continued the same upload
    assert [c.details["offset"] for c in chunks] == [0, MiB, 2 * MiB, 3 * MiB]

    # a file changed since the interruption is uploaded anew, and the stale upload aborted
    changed = content[:-1] + b"!"
    local.write_bytes(changed)
    stop = member.files("put", str(local), remote, "--chunk-size", "2M", **stop_after_one)
    assert stop.returncode == 130 and Upload.objects.get().blob.size == 2 * MiB
    os.utime(local, ns=(1, 1))
    member.ok("put", str(local), remote, **small_chunks)
    assert not Upload.objects.exists()
    assert AuditEntry.objects.filter(action="files.upload.abort").count() == 1
    member.ok("get", remote, str(tmp_path / "changed.nii"))
    assert (tmp_path / "changed.nii").read_bytes() == changed


# --- exit codes -------------------------------------------------------------------------------


def test_exit_codes_scripts_can_rely_on(
    member: Shell, tmp_path: Path, oslo: Person, settings: Any
) -> None:
    local = tmp_path / "a.csv"
    local.write_bytes(b"x,y\n1,2\n")
    assert member.files("get", "sites/oslo/import/missing.csv", str(tmp_path / "m")).returncode == 3
    assert member.files("ls", "sites/berlin/import").returncode == 3
    assert member.files("put", str(local), "sites/berlin/import/a.csv").returncode == 3
    assert member.files("put", str(tmp_path / "nope.csv"), "sites/oslo/import/").returncode == 3
    denied = member.files("put", str(local), "sites/oslo/data/study/wave1/a.csv")
    assert denied.returncode == 4, denied.stderr

    member.ok("put", str(local), "sites/oslo/import/a.csv")
    member.ok("put", str(local), "sites/oslo/import/b.csv")
    conflict = member.files("mv", "sites/oslo/import/a.csv", "sites/oslo/import/b.csv")
    assert conflict.returncode == 5, conflict.stderr
    inside_file = member.files("put", str(local), "sites/oslo/import/a.csv/inner.csv")
    assert inside_file.returncode == 5
    assert member.files("put", str(local), "sites/oslo/import/../data/a.csv").returncode == 6
    assert member.files("put", str(local)).returncode == 2
    assert member.files("put", str(tmp_path), "sites/oslo/import/").returncode == 2
    assert member.files("frobnicate").returncode == 2

    settings.COHORTVAULT_MAX_UPLOAD_SIZE = 4
    too_large = member.files("put", str(local), "sites/oslo/import/big.csv")
    assert too_large.returncode == 7, too_large.stderr

    # a token the server no longer accepts, and a login that expired locally
    ApiToken.objects.filter(user=oslo.user).update(expires_at=timezone.now() - timedelta(1))
    rejected = member.files("ls", "sites/oslo/import")
    assert rejected.returncode == 4 and "cohortvault login" in rejected.stderr
    saved = json.loads(member.config.read_text())
    saved["expires_at"] = (timezone.now() - timedelta(minutes=1)).isoformat()
    member.config.write_text(json.dumps(saved))
    expired = member.files("ls", "sites/oslo/import")
    assert expired.returncode == 4 and "expired" in expired.stderr
    member.config.unlink()
    nobody = member.files("ls", "sites/oslo/import")
    assert nobody.returncode == 4 and "cohortvault login" in nobody.stderr


def test_environment_overrides_the_configuration(shell: Shell, oslo: Person) -> None:
    issued = token_for(shell.server, oslo)
    assert not shell.config.exists()
    listing = shell.files(
        "ls",
        "sites/oslo/import",
        COHORTVAULT_SERVER=shell.server,
        COHORTVAULT_TOKEN=issued["token"],
    )
    assert listing.returncode == 0, listing.stderr
    # the stored token is never sent to another server than the one it came from
    shell.config.parent.mkdir()
    shell.config.write_text(json.dumps({"server": shell.server, "token": issued["token"]}))
    other = shell.files("ls", "sites/oslo/import", COHORTVAULT_SERVER="http://127.0.0.2:9")
    assert other.returncode == 4, other.stderr


# --- bad input --------------------------------------------------------------------------------


def test_traversal_corpus_puts_nothing_outside_the_import_area(
    member: Shell, tmp_path: Path, server: str
) -> None:
    """Every hostile remote path is refused (exit 6) or stored as a literal name under BASE.

    The payloads run in-process through the same command tree (a process argument cannot hold
    the NUL some payloads contain); a sample also runs through the real console script."""
    local = tmp_path / "evil.csv"
    local.write_bytes(b"evil\n")
    runner = CliRunner()
    outcomes: dict[str, int] = {}
    for payload in traversal.PAYLOADS:
        result = runner.invoke(
            main,
            ["files", "put", "-q", str(local), f"{traversal.BASE}/{payload}"],
            env={"COHORTVAULT_CLIENT_CONFIG": str(member.config)},
        )
        outcomes[payload] = result.exit_code
        assert result.exit_code in {0, 6}, (payload, result.output, result.exception)
    for payload in traversal.HARMLESS:
        assert outcomes[payload] == 0, payload
    refused = [p for p, code in outcomes.items() if code == 6]
    assert len(refused) >= 45
    for payload in ["../data/evil.csv", "..\\..\\data\\evil.csv", "\uff0e\uff0e/data/evil.csv"]:
        through_process = member.files("put", str(local), f"{traversal.BASE}/{payload}")
        assert through_process.returncode == 6, (payload, through_process.stderr)

    manager = person("dm1", Role.DATA_MANAGER)
    with api(server, token_for(server, manager)["token"]) as http:
        for area in ["sites/oslo/data", "sites/berlin/data", "sites/berlin/import", "logs"]:
            listing = http.get(f"/list/{area}")
            assert listing.status_code == 200, listing.text
            assert listing.json()["entries"] == [], area
    stored = list(Node.objects.filter(kind=Node.Kind.FILE).values_list("area", "path"))
    assert stored, "the harmless names are stored"
    assert all(area == traversal.BASE for area, _ in stored)
    assert all(traversal.stays_inside(f"{area}/{path}") for area, path in stored)


HOSTILE_NAMES = [
    *traversal.PAYLOADS,
    "../outside.txt",
    "sub/../../outside.txt",
    "/etc/outside.txt",
    "C:\\outside.txt",
    "\\\\host\\share\\outside.txt",
    "a\\..\\..\\outside.txt",
    "",
    "a/",
    "/",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_local_target_never_leaves_the_destination(tmp_path: Path, name: str) -> None:
    root = tmp_path / "dest"
    root.mkdir()
    try:
        target = local_target(root, name)
    except UnsafeName:
        return
    assert os.path.commonpath([root, target]) == str(root) and target != root
    assert ".." not in target.relative_to(root).parts


def test_recursive_get_from_a_hostile_server_writes_nothing_outside(tmp_path: Path) -> None:
    """A server (or a man in the middle) sending escaping names gets them refused, and the
    honest files still arrive."""
    folder = "sites/oslo/import/x"

    def entry(path: str, name: str, kind: str = "file") -> dict[str, Any]:
        return {
            "path": path,
            "name": name,
            "kind": kind,
            "size": 2,
            "modified_at": "2024-01-01T00:00:00+00:00",
            "modified_by": "",
            "version": 1,
        }

    listings = {
        folder: [
            entry(f"{folder}/ok.txt", "ok.txt"),
            entry(f"{folder}/../../evil.txt", "../../evil.txt"),
            entry("sites/oslo/import/evil.txt", "evil.txt"),
            entry(f"{folder}/..", ".."),
            entry(f"{folder}/sub", "sub", "folder"),
        ],
        f"{folder}/sub": [
            entry(f"{folder}/sub/fine.txt", "fine.txt"),
            entry(f"{folder}/sub/\\..\\..\\evil.txt", "\\..\\..\\evil.txt"),
            entry("/etc/evil.txt", "/etc/evil.txt"),
        ],
    }

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix(API)
        route, _, rest = path.lstrip("/").partition("/")
        if route == "stat":
            return httpx.Response(200, json=entry(rest, rest.rsplit("/", 1)[-1], "folder"))
        if route == "list":
            return httpx.Response(
                200, json={"folder": entry(rest, "x", "folder"), "entries": listings[rest]}
            )
        return httpx.Response(200, content=b"hi", headers={"Content-Type": "text/plain"})

    dest = tmp_path / "dest"
    before = set(tmp_path.rglob("*"))
    with Client("http://vault.invalid", "t", transport=httpx.MockTransport(answer)) as client:
        report = client.get_tree(folder, dest / "x")
    written = set(tmp_path.rglob("*")) - before
    assert all(p == dest or dest in p.parents for p in written), written
    assert tree_of(dest) == {"x": None, "x/ok.txt": b"hi", "x/sub": None, "x/sub/fine.txt": b"hi"}
    assert len(report.failed) == 5 and report.files == 2


def test_a_resumable_upload_survives_a_broken_connection(tmp_path: Path) -> None:
    """A chunk lost on the way is sent again from the offset the server reports."""
    received = bytearray()
    failures = {"left": 1}
    calls: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path}")
        state = {"id": "u1", "path": "p", "offset": len(received), "expected_size": 10}
        state["expires_at"] = "2030-01-01T00:00:00+00:00"
        if request.method == "PUT":
            body = request.read()
            if len(received) == 4 and failures["left"]:
                failures["left"] -= 1
                raise httpx.WriteError("connection reset")
            assert int(request.url.params["offset"]) == len(received)
            received.extend(body)
            state["offset"] = len(received)
        if request.url.path.endswith("/complete"):
            return httpx.Response(201, json={"path": "p", "name": "p", "kind": "file"})
        return httpx.Response(201 if request.method == "POST" else 200, json=state)

    local = tmp_path / "big.bin"
    local.write_bytes(b"0123456789")
    transport = httpx.MockTransport(answer)
    with Client("http://vault.invalid", "t", chunk_size=4, transport=transport) as client:
        client.put_file(local, "sites/oslo/import/big.bin")
    assert bytes(received) == b"0123456789"
    assert calls.count("GET /api/v1/uploads/u1") == 1  # asked once where to go on
