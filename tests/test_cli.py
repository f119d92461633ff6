"""The ``cohortvault`` command, run as a real process the way an operator runs it.

Every test works in its own data directory with the embedded SQLite database; none touches the
test suite's database. The demo consortium is built once for the module (it takes a while) and
copied when a test needs to spoil it.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import shutil
import socket
import sqlite3
import subprocess
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import argon2
import pyrage
import pytest

from cohortvault.demo import current_code
from tests.commands import COHORTVAULT, cohortvault, environment, mode

REPOSITORY = Path(__file__).resolve().parent.parent
ADMIN_PASSWORD = "a long and unguessable passphrase 7"
ALL_ROLES = {
    "administrator",
    "data_manager",
    "site_member",
    "project_member",
    "exporter",
    "approver",
    "data_protection_officer",
}


def query(database: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(database)) as connection:
        return connection.execute(sql, params).fetchall()


def tamper(database: Path, *statements: str) -> int:
    """Change the database behind the instance's back, as someone with file access could;
    return the number of rows changed."""
    with contextlib.closing(sqlite3.connect(database)) as connection, connection:
        for statement in statements:
            connection.execute(statement)
        return connection.total_changes


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("demo") / "instance"
    result = cohortvault("demo", "--data-dir", data_dir)
    assert result.returncode == 0, result.stderr
    assert "Created a demo instance" in result.stdout
    return data_dir


@pytest.fixture(scope="module")
def credentials(demo_dir: Path) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads((demo_dir / "demo-credentials.json").read_text())
    return entries


@pytest.fixture
def demo_copy(demo_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the demo instance, for a test that tampers with it."""
    copy = tmp_path / "copy"
    shutil.copytree(demo_dir, copy)
    return copy


# -- init -----------------------------------------------------------------------------------


def test_init_creates_a_private_configuration_master_key_and_database(tmp_path: Path) -> None:
    data_dir = tmp_path / "instance"
    result = cohortvault(
        "init",
        "--data-dir",
        data_dir,
        "--admin-username",
        "astrid",
        "--admin-password",
        ADMIN_PASSWORD,
    )
    assert result.returncode == 0, result.stderr
    assert f"Created an instance in {data_dir.resolve()}" in result.stdout
    assert mode(data_dir) == 0o700

    config_file = data_dir / "cohortvault.toml"
    assert mode(config_file) == 0o600
    config = tomllib.loads(config_file.read_text())
    assert len(config["secret_key"]) >= 40
    assert config.get("production", False) is False

    master_key = data_dir / "master.key"
    assert mode(master_key) == 0o600
    secret_lines = [
        line for line in master_key.read_text().splitlines() if line.startswith("AGE-SECRET-KEY-")
    ]
    assert len(secret_lines) == 1
    identity = pyrage.x25519.Identity.from_str(secret_lines[0])
    assert str(identity.to_public()) in master_key.read_text()
    assert secret_lines[0] not in config_file.read_text()

    database = data_dir / "cohortvault.sqlite3"
    assert database.read_bytes().startswith(b"SQLite format 3\x00")
    [(password_hash,)] = query(
        database, "SELECT password FROM identity_user WHERE username = ?", "astrid"
    )
    assert ADMIN_PASSWORD not in password_hash
    assert argon2.PasswordHasher().verify(password_hash.removeprefix("argon2"), ADMIN_PASSWORD)
    roles = query(
        database,
        "SELECT g.role FROM consortium_membership m JOIN consortium_group g ON m.group_id = g.id"
        " JOIN identity_user u ON m.user_id = u.id WHERE u.username = ?",
        "astrid",
    )
    assert roles == [("administrator",)]
    verify = cohortvault("audit", "verify", "--data-dir", data_dir)
    assert verify.returncode == 0, verify.stderr
    assert "chain intact" in verify.stdout


def test_init_refuses_a_directory_that_already_holds_an_instance(tmp_path: Path) -> None:
    data_dir = tmp_path / "instance"
    assert (
        cohortvault("init", "--data-dir", data_dir, "--admin-password", ADMIN_PASSWORD).returncode
        == 0
    )
    before = {name: (data_dir / name).read_bytes() for name in ("cohortvault.toml", "master.key")}

    again = cohortvault("init", "--data-dir", data_dir, "--admin-password", ADMIN_PASSWORD)
    assert again.returncode == 1
    assert "already holds an instance" in again.stderr
    assert "Traceback" not in again.stderr
    assert {name: (data_dir / name).read_bytes() for name in before} == before


def test_init_refuses_a_weak_administrator_password_and_leaves_nothing_behind(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "instance"
    weak = cohortvault("init", "--data-dir", data_dir, "--admin-password", "password")
    assert weak.returncode == 1
    assert "password is too weak" in weak.stderr
    assert "too short" in weak.stderr
    assert "Traceback" not in weak.stderr
    assert not (data_dir / "cohortvault.toml").exists()
    assert not (data_dir / "master.key").exists()
    assert not (data_dir / "cohortvault.sqlite3").exists()

    # having read the message, the operator simply tries again
    retry = cohortvault("init", "--data-dir", data_dir, "--admin-password", ADMIN_PASSWORD)
    assert retry.returncode == 0, retry.stderr


def test_init_refuses_a_directory_holding_a_stray_master_key(tmp_path: Path) -> None:
    stray = tmp_path / "master.key"
    stray.write_text("# someone's key\nAGE-SECRET-KEY-1STRAY\n")
    result = cohortvault("init", "--data-dir", tmp_path, "--admin-password", ADMIN_PASSWORD)
    assert result.returncode == 1
    assert "master key" in result.stderr
    assert "Traceback" not in result.stderr
    assert stray.read_text() == "# someone's key\nAGE-SECRET-KEY-1STRAY\n"
    assert not (tmp_path / "cohortvault.toml").exists()


def test_commands_on_a_directory_without_an_instance_say_so(tmp_path: Path) -> None:
    result = cohortvault("audit", "verify", "--data-dir", tmp_path)
    assert result.returncode == 1
    assert "is not a cohortvault instance" in result.stderr
    assert not (tmp_path / "cohortvault.sqlite3").exists()


# -- demo -----------------------------------------------------------------------------------


def test_demo_credentials_list_every_user_with_password_and_authenticator(
    demo_dir: Path, credentials: list[dict[str, Any]]
) -> None:
    assert mode(demo_dir / "demo-credentials.json") == 0o600
    assert mode(demo_dir / "master.key") == 0o600
    assert mode(demo_dir / "cohortvault.toml") == 0o600
    usernames = [entry["username"] for entry in credentials]
    assert len(usernames) == len(set(usernames)) >= len(ALL_ROLES)
    for entry in credentials:
        assert {"username", "password", "totp_secret", "roles", "sites", "projects"} <= set(entry)
        assert isinstance(entry["roles"], list)
        assert set(entry["roles"]) <= ALL_ROLES
        assert len(entry["password"]) >= 12
        assert (
            len(base64.b32decode(entry["totp_secret"] + "=" * (-len(entry["totp_secret"]) % 8)))
            >= 10
        )
    assert len({entry["password"] for entry in credentials}) > 1


def test_demo_covers_every_role_and_the_interesting_memberships(
    credentials: list[dict[str, Any]],
) -> None:
    assert set().union(*(entry["roles"] for entry in credentials)) == ALL_ROLES
    sites = set().union(*(entry["sites"] for entry in credentials))
    assert len(sites) >= 4
    assert any(len(entry["sites"]) >= 2 for entry in credentials)
    site_members = [entry for entry in credentials if entry["sites"]]
    assert any(not entry["projects"] for entry in site_members), "a site member in no project"
    for entry in credentials:
        assert ("site_member" in entry["roles"]) == bool(entry["sites"])
        assert ("project_member" in entry["roles"]) == bool(entry["projects"])


def test_demo_credentials_match_the_database(
    demo_dir: Path, credentials: list[dict[str, Any]]
) -> None:
    database = demo_dir / "cohortvault.sqlite3"
    hasher = argon2.PasswordHasher()
    for entry in credentials:
        username = entry["username"]
        [(password_hash, active)] = query(
            database, "SELECT password, is_active FROM identity_user WHERE username = ?", username
        )
        assert active
        assert hasher.verify(password_hash.removeprefix("argon2"), entry["password"])
        keys = query(
            database,
            "SELECT d.key FROM otp_totp_totpdevice d JOIN identity_user u ON d.user_id = u.id"
            " WHERE u.username = ? AND d.confirmed",
            username,
        )
        secret = entry["totp_secret"]
        assert [bytes.fromhex(key) for (key,) in keys] == [
            base64.b32decode(secret + "=" * (-len(secret) % 8))
        ]
        memberships = query(
            database,
            "SELECT g.role, s.code, p.code FROM consortium_membership m"
            " JOIN consortium_group g ON m.group_id = g.id"
            " JOIN identity_user u ON m.user_id = u.id"
            " LEFT JOIN consortium_site s ON g.site_id = s.id"
            " LEFT JOIN consortium_project p ON g.project_id = p.id"
            " WHERE u.username = ? AND m.ended_at IS NULL",
            username,
        )
        assert {role for role, _, _ in memberships} == set(entry["roles"])
        assert sorted(site for role, site, _ in memberships if role == "site_member") == sorted(
            entry["sites"]
        )
        assert sorted(p for role, _, p in memberships if role == "project_member") == sorted(
            entry["projects"]
        )


def test_demo_otp_prints_the_current_code(
    demo_dir: Path, credentials: list[dict[str, Any]]
) -> None:
    entry = next(e for e in credentials if "site_member" in e["roles"])
    before = time.time()
    result = cohortvault("demo-otp", entry["username"], "--data-dir", demo_dir)
    after = time.time()
    assert result.returncode == 0, result.stderr
    code = result.stdout.strip()
    assert len(code) == 6 and code.isdigit()
    # the command ran somewhere between before and after, maybe across a 30-second step
    acceptable = {
        current_code(entry["totp_secret"], at=moment)
        for moment in (before - 30, before, after, after + 30)
    }
    assert code in acceptable


def test_demo_otp_names_the_known_users_for_an_unknown_one(
    demo_dir: Path, credentials: list[dict[str, Any]]
) -> None:
    result = cohortvault("demo-otp", "nobody-here", "--data-dir", demo_dir)
    assert result.returncode == 1
    assert "no demo user 'nobody-here'" in result.stderr
    assert all(entry["username"] in result.stderr for entry in credentials)


def test_demo_otp_refuses_an_instance_that_is_not_a_demo(tmp_path: Path) -> None:
    result = cohortvault("demo-otp", "admin", "--data-dir", tmp_path)
    assert result.returncode == 1
    assert "not a demo instance" in result.stderr


# -- audit verify ---------------------------------------------------------------------------


def test_audit_verify_passes_on_a_fresh_demo(demo_dir: Path) -> None:
    result = cohortvault("audit", "verify", "--data-dir", demo_dir)
    assert result.returncode == 0, result.stderr
    assert "chain intact" in result.stdout
    [(entries,)] = query(demo_dir / "cohortvault.sqlite3", "SELECT count(*) FROM audit_auditentry")
    assert f"ok: {entries} entries" in result.stdout
    head = cohortvault("audit", "head", "--data-dir", demo_dir)
    assert head.returncode == 0
    assert head.stdout.strip() in result.stdout


def test_audit_verify_finds_an_edited_entry(demo_copy: Path) -> None:
    database = demo_copy / "cohortvault.sqlite3"
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        tamper(database, "UPDATE audit_auditentry SET target = 'x' WHERE seq = 3")
    changed = tamper(
        database,
        "DROP TRIGGER audit_entry_no_update",
        "UPDATE audit_auditentry SET target = 'x' WHERE seq = 3",
    )
    assert changed == 1

    result = cohortvault("audit", "verify", "--data-dir", demo_copy)
    assert result.returncode == 1
    assert "entry #3" in result.stderr
    assert "edited" in result.stderr
    assert "chain intact" not in result.stdout


@pytest.mark.parametrize(
    ("doomed", "reported"),
    [("5", "#5"), ("(SELECT max(seq) FROM audit_auditentry)", "truncated")],
    ids=["middle", "last"],
)
def test_audit_verify_finds_a_deleted_entry(demo_copy: Path, doomed: str, reported: str) -> None:
    deleted = tamper(
        demo_copy / "cohortvault.sqlite3", f"DELETE FROM audit_auditentry WHERE seq = {doomed}"
    )
    assert deleted == 1

    result = cohortvault("audit", "verify", "--data-dir", demo_copy)
    assert result.returncode == 1
    assert reported in result.stderr
    assert "chain intact" not in result.stdout


# -- serve ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def get(port: int, path: str) -> Reply:
    """One plain HTTP GET to the local server, redirects not followed."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return Reply(response.status, dict(response.getheaders()), response.read())
    finally:
        connection.close()


@contextlib.contextmanager
def serving(data_dir: Path, log_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``cohortvault serve`` on a free port: the process and the port, once the server answers."""
    port = _free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(COHORTVAULT), "serve", "--data-dir", str(data_dir), "--port", str(port)],
            env=environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                get(port, "/healthz")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield process, port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def server(demo_dir: Path, tmp_path: Path) -> Iterator[int]:
    with serving(demo_dir, tmp_path / "serve.log") as (_, port):
        yield port


def checkers(data_dir: Path) -> list[int]:
    """Process ids of the running ``imports worker`` processes of this instance."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # it ended meanwhile
            continue
        if b"worker" in arguments and str(data_dir).encode() in arguments:
            found.append(int(entry.name))
    return found


def eventually(condition: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_serve_answers_health_checks_and_pages(server: int) -> None:
    health = get(server, "/healthz")
    assert health.status == 200
    assert health.headers["Content-Type"].startswith("application/json")
    assert json.loads(health.body) == {"status": "ok"}
    login = get(server, "/login/")
    assert login.status == 200
    assert "Content-Security-Policy" in login.headers
    assert "<h1>Sign in</h1>" in login.body.decode()


def test_serve_sends_visitors_to_the_login_page(server: int) -> None:
    reply = get(server, "/")
    assert reply.status == 302
    assert reply.headers["Location"].startswith("/login/?next=")


def test_serve_runs_one_quality_checker_and_stops_it_when_stopped(
    demo_dir: Path, tmp_path: Path
) -> None:
    with serving(demo_dir, tmp_path / "serve.log") as (process, _):
        assert eventually(lambda: len(checkers(demo_dir)) == 1)
        process.terminate()
        assert process.wait(timeout=30) == 0
        assert eventually(lambda: checkers(demo_dir) == []), "the checker outlived the server"


def test_the_quality_checker_stops_when_its_server_is_killed(
    demo_dir: Path, tmp_path: Path
) -> None:
    with serving(demo_dir, tmp_path / "serve.log") as (process, _):
        assert eventually(lambda: len(checkers(demo_dir)) == 1)
        process.kill()
        process.wait()
        assert eventually(lambda: checkers(demo_dir) == []), "the checker outlived the server"


# -- configuration --------------------------------------------------------------------------


@pytest.mark.parametrize("secret_key", ["", "short-secret"], ids=["empty", "short"])
def test_production_mode_refuses_to_start_without_a_proper_secret_key(
    demo_copy: Path, secret_key: str
) -> None:
    (demo_copy / "cohortvault.toml").write_text(
        f"production = true\nsecret_key = {json.dumps(secret_key)}\n"
    )
    for command in (("audit", "verify"), ("serve", "--port", str(_free_port()))):
        result = cohortvault(*command, "--data-dir", demo_copy)
        assert result.returncode == 1
        assert "secret_key" in result.stderr
        assert "Traceback" not in result.stderr


def test_production_mode_starts_with_the_secret_key_init_writes(tmp_path: Path) -> None:
    data_dir = tmp_path / "instance"
    created = cohortvault(
        "init", "--data-dir", data_dir, "--production", "--admin-password", ADMIN_PASSWORD
    )
    assert created.returncode == 0, created.stderr
    assert tomllib.loads((data_dir / "cohortvault.toml").read_text())["production"] is True
    result = cohortvault("audit", "verify", "--data-dir", data_dir)
    assert result.returncode == 0, result.stderr


def test_docs_settings_is_the_settings_page() -> None:
    page = REPOSITORY / "docs" / "settings.md"
    if not page.exists():
        pytest.skip("docs/settings.md has not been written yet")
    result = cohortvault("docs", "settings")
    assert result.returncode == 0, result.stderr
    assert result.stdout == page.read_text(encoding="utf-8")
