"""``cohortvault datasets …`` against a live server, run as the real console script in a
subprocess with a token of its own, as a user's shell or script would run it."""

from __future__ import annotations

import csv
import io
import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest
from pytest_django.live_server_helper import LiveServer

from cohortvault.access.policy import Role
from cohortvault.consortium.models import Site
from cohortvault.datasets import client as datasets_client
from cohortvault.datasets import services
from cohortvault.files.client import ClientError, Connection
from cohortvault.identity import tokens
from tests import factories
from tests.commands import cohortvault, environment, mode, python
from tests.datasets.conftest import ROWS, STUDY, dictionary, text_table


@pytest.fixture
def server(live_server: LiveServer, transactional_db: None) -> str:
    live_server.thread.httpd.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return str(live_server.url)


@pytest.fixture
def oslo(server: str) -> Site:
    factories.make_site("berlin")
    return factories.make_site("oslo")


@pytest.fixture
def two_versions(oslo: Site) -> None:
    manager = factories.make_user("dm1")
    factories.grant(manager, Role.DATA_MANAGER)
    principal = factories.principal(manager)
    for rows, source in ((ROWS, "import 12: visit1.csv"), (ROWS[:2], "correction 3")):
        edited = [dict(r) for r in rows]
        if source.startswith("correction"):
            edited[1]["comment"] = "=1+1"
        services.create_version(
            principal,
            site="oslo",
            study=STUDY,
            table=text_table(edited),
            dictionary=dictionary(),
            source=source,
            reason="\x1b[31mred\x1b[0m" if source.startswith("correction") else "",
        )


def member_token(site: Site, username: str = "oslo1") -> str:
    user = factories.make_user(username)
    factories.grant(user, Role.SITE_MEMBER, site=site)
    return tokens.create_token(user, name="script", scope="read_only").token


def run(server: str, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = environment(COHORTVAULT_SERVER=server, COHORTVAULT_TOKEN=token)
    result = cohortvault("datasets", *args, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def ok(server: str, token: str, *args: str) -> str:
    result = run(server, token, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_list_log_and_show(server: str, oslo: Site, two_versions: None) -> None:
    token = member_token(oslo)
    out = ok(server, token, "list")
    assert out.startswith("oslo/study\t2 version(s)\tlatest 2: 2 rows × 9 columns")

    out = ok(server, token, "log", "oslo", STUDY)
    lines = out.splitlines()
    assert lines[0].split()[0] == "2" and "correction 3" in lines[0]
    assert lines[1].strip() == "\\x1b[31mred\\x1b[0m"  # no terminal escapes from the server
    assert lines[2].split()[0] == "1" and "import 12: visit1.csv" in lines[2]

    out = ok(server, token, "show", "oslo", STUDY)
    assert out.startswith("oslo/study version 2\n") and "rows         2\n" in out
    assert "column names subject_id, timepoint, site, mmse" in out

    out = ok(server, token, "show", "oslo", STUDY, "1", "--json")
    shown = json.loads(out)
    assert shown["number"] == 1 and shown["import_id"] is None and shown["rows"] == 3


def test_diff_in_every_format(server: str, oslo: Site, two_versions: None, tmp_path: Path) -> None:
    token = member_token(oslo)
    out = ok(server, token, "diff", "oslo", STUDY, "1", "2")
    assert out.splitlines() == [
        "oslo/study version 1 → 2: 1 row(s) removed, 1 cell(s) changed",
        "- row OSL-0001 wave1",
        "~ OSL-0001 wave2 comment: (empty) → =1+1",
    ]
    out = ok(server, token, "diff", "oslo", STUDY, "1", "2", "--format", "json")
    assert json.loads(out)["totals"]["rows_removed"] == 1
    target = tmp_path / "changes.csv"
    out = ok(server, token, "diff", "oslo", STUDY, "1", "2", "--format", "csv", "-o", str(target))
    lines = list(csv.reader(io.StringIO(target.read_text())))
    assert lines[-1] == ["changed", "OSL-0001", "wave2", "comment", "", "'=1+1"]
    assert mode(target) == 0o600


def test_export_writes_files_atomically(
    server: str, oslo: Site, two_versions: None, tmp_path: Path
) -> None:
    token = member_token(oslo)
    as_csv = tmp_path / "v2.csv"
    wrote = run(server, token, "export", "oslo", STUDY, "2", "-o", str(as_csv))
    assert wrote.returncode == 0 and f"wrote {as_csv}" in wrote.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.read_text())))
    assert [r["comment"] for r in rows] == ["'=1+1", "'=HYPERLINK(1)"]

    as_parquet = tmp_path / "v1.parquet"
    ok(server, token, "export", "oslo", STUDY, "1", "--format", "parquet", "-o", str(as_parquet))
    assert pq.read_table(as_parquet).num_rows == 3
    assert mode(as_parquet) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v1.parquet", "v2.csv"]

    missing = run(server, token, "export", "oslo", STUDY, "9", "-o", str(tmp_path / "v9.csv"))
    assert missing.returncode == 3 and "no version 9" in missing.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v1.parquet", "v2.csv"]


def test_refusals_and_exit_codes(server: str, oslo: Site, two_versions: None) -> None:
    berlin = Site.objects.get(code="berlin")
    hidden = run(server, member_token(berlin, "berlin1"), "log", "oslo", STUDY)
    assert hidden.returncode == 3 and hidden.stderr.startswith("Error: ")
    stranger = run(server, "not-a-token", "log", "oslo", STUDY)
    assert stranger.returncode == 4 and "cohortvault login" in stranger.stderr
    token = member_token(oslo)
    assert run(server, token, "diff", "oslo", STUDY, "1").returncode == 2
    unknown = run(server, token, "export", "oslo", STUDY, "1", "--format", "xlsx", "-o", "x")
    assert unknown.returncode == 2
    env = environment(COHORTVAULT_CLIENT_CONFIG="/nonexistent/client.json")
    result = cohortvault("datasets", "list", env=env)
    assert result.returncode == 4 and "not logged in" in result.stderr


def test_a_broken_download_leaves_no_file(tmp_path: Path) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        def cut_short() -> Iterator[bytes]:
            yield b"x" * 1000
            raise httpx.ReadError("connection reset")

        return httpx.Response(200, headers={"Content-Length": "5000"}, stream=_Stream(cut_short()))

    target = tmp_path / "out.csv"
    target.write_bytes(b"previous")
    connection = Connection("http://vault.invalid", "t", transport=httpx.MockTransport(answer))
    path = datasets_client.route("oslo", STUDY, "versions", "1", "export")
    with connection, pytest.raises(ClientError) as caught:
        datasets_client.save_atomically(
            target, lambda sink: datasets_client.download(connection, path, sink)
        )
    assert caught.value.status == 0
    assert target.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


class _Stream(httpx.SyncByteStream):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        return self.chunks


def test_routes_quote_their_parts() -> None:
    assert datasets_client.route("os lo", "a/b", "diff") == "datasets/os%20lo/a%2Fb/diff"


def test_the_client_needs_no_django() -> None:
    probe = "import sys, cohortvault.datasets.client; print('django' in sys.modules)"
    result = python(probe)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
