"""The file routes of the REST API: streaming put and get, listing, resumable uploads, batches."""

from __future__ import annotations

import io
import tarfile

import pytest
from django.test import Client

from cohortvault.identity.models import User
from cohortvault.storage.maintenance import backend
from tests import factories

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture
def client(site_member: User) -> Client:
    return factories.signed_in_client(site_member)


def put(client: Client, path: str, data: bytes):  # type: ignore[no-untyped-def]
    return client.put(f"{API}/files/{path}", data, content_type="application/octet-stream")


def body(response) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join(response.streaming_content)


def test_put_get_list_delete(client: Client) -> None:
    created = put(client, "sites/oslo/import/wave1/scores.csv", b"a,b\n1,2\n")
    assert created.status_code == 201
    assert created.json()["path"] == "sites/oslo/import/wave1/scores.csv"
    download = client.get(f"{API}/files/sites/oslo/import/wave1/scores.csv")
    assert download.status_code == 200
    assert body(download) == b"a,b\n1,2\n"
    assert download["Content-Disposition"] == 'attachment; filename="scores.csv"'
    assert download["Cache-Control"] == "no-store"
    assert download["Content-Type"] == "application/octet-stream"
    listing = client.get(f"{API}/files/sites/oslo/import/wave1").json()
    assert [e["name"] for e in listing["entries"]] == ["scores.csv"]
    assert client.delete(f"{API}/files/sites/oslo/import/wave1/scores.csv").status_code == 200
    assert client.get(f"{API}/files/sites/oslo/import/wave1/scores.csv").status_code == 404
    deleted = client.get(f"{API}/deleted/sites/oslo/import").json()
    assert [d["path"] for d in deleted] == ["sites/oslo/import/wave1/scores.csv"]
    restored = client.post(
        f"{API}/restore/sites/oslo/import/wave1/scores.csv", {}, content_type="application/json"
    )
    assert restored.status_code == 200
    assert body(client.get(f"{API}/files/sites/oslo/import/wave1/scores.csv")) == b"a,b\n1,2\n"


def test_hostile_download_names_are_sanitised(client: Client) -> None:
    put(client, "sites/oslo/import/we'ird;name é.csv", b"x")
    response = client.get(f"{API}/files/sites/oslo/import/we'ird;name é.csv")
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;") and "\n" not in disposition
    assert "filename*=utf-8''" in disposition


def test_versions_and_restore_by_version(client: Client) -> None:
    put(client, "sites/oslo/import/a.csv", b"one")
    put(client, "sites/oslo/import/a.csv", b"two")
    history = client.get(f"{API}/versions/sites/oslo/import/a.csv").json()
    assert [v["current"] for v in history] == [True, False]
    old = history[1]["id"]
    assert body(client.get(f"{API}/files/sites/oslo/import/a.csv?version={old}")) == b"one"
    client.post(
        f"{API}/restore/sites/oslo/import/a.csv", {"version": old}, content_type="application/json"
    )
    assert body(client.get(f"{API}/files/sites/oslo/import/a.csv")) == b"one"


def test_put_needs_a_length_and_refuses_what_is_too_large(client: Client, settings) -> None:
    settings.COHORTVAULT_MAX_UPLOAD_SIZE = 10
    response = put(client, "sites/oslo/import/big.bin", b"x" * 11)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert list(backend().stored_blobs()) == []


def test_other_sites_are_not_found_and_reads_are_forbidden_writes(
    client: Client, other_site
) -> None:
    assert put(client, "sites/berlin/import/x.csv", b"1").status_code == 404
    assert client.get(f"{API}/files/sites/berlin/import").status_code == 404
    response = put(client, "sites/oslo/data/x.csv", b"1")
    assert response.status_code == 403


def test_resumable_upload(client: Client) -> None:
    started = client.post(
        f"{API}/uploads",
        {"path": "sites/oslo/import/big.bin", "size": 10},
        content_type="application/json",
    )
    assert started.status_code == 201
    upload = started.json()["id"]
    first = client.put(
        f"{API}/uploads/{upload}?offset=0", b"01234", content_type="application/octet-stream"
    )
    assert first.json()["offset"] == 5
    # a chunk for the wrong offset is refused and says where to resume
    wrong = client.put(
        f"{API}/uploads/{upload}?offset=0", b"01234", content_type="application/octet-stream"
    )
    assert wrong.status_code == 409 and wrong.json()["error"]["details"] == [{"offset": 5}]
    # nothing is visible before completion
    assert client.get(f"{API}/files/sites/oslo/import/big.bin").status_code == 404
    early = client.post(f"{API}/uploads/{upload}/complete")
    assert early.status_code == 409
    assert client.get(f"{API}/uploads/{upload}").json()["offset"] == 5
    client.put(
        f"{API}/uploads/{upload}?offset=5", b"56789", content_type="application/octet-stream"
    )
    done = client.post(f"{API}/uploads/{upload}/complete")
    assert done.status_code == 201
    assert body(client.get(f"{API}/files/sites/oslo/import/big.bin")) == b"0123456789"
    assert client.get(f"{API}/uploads/{upload}").status_code == 404


def test_someone_elses_upload_is_not_found(client: Client, site) -> None:
    upload = client.post(
        f"{API}/uploads", {"path": "sites/oslo/import/x"}, content_type="application/json"
    ).json()["id"]
    colleague = factories.make_user("colleague")
    from cohortvault.access.policy import Role

    factories.grant(colleague, Role.SITE_MEMBER, site=site)
    other = factories.signed_in_client(colleague)
    assert other.get(f"{API}/uploads/{upload}").status_code == 404
    assert (
        other.put(
            f"{API}/uploads/{upload}?offset=0", b"x", content_type="application/octet-stream"
        ).status_code
        == 404
    )


def tar_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_batch_upload_all_or_nothing(client: Client) -> None:
    files = {f"folder{i % 3}/file{i}.txt": f"content {i}".encode() for i in range(20)}
    response = client.post(
        f"{API}/batch/sites/oslo/import/batch", tar_of(files), content_type="application/x-tar"
    )
    assert response.status_code == 201 and len(response.json()) == 20
    assert (
        body(client.get(f"{API}/files/sites/oslo/import/batch/folder1/file4.txt")) == b"content 4"
    )
    hostile = tar_of({"ok.txt": b"fine", "../../data/evil.csv": b"evil"})
    refused = client.post(
        f"{API}/batch/sites/oslo/import/batch2", hostile, content_type="application/x-tar"
    )
    assert refused.status_code == 422
    assert client.get(f"{API}/files/sites/oslo/import/batch2/ok.txt").status_code == 404
    garbage = client.post(
        f"{API}/batch/sites/oslo/import/batch3",
        b"not a tar at all" * 100,
        content_type="application/x-tar",
    )
    assert garbage.status_code == 422


def test_batch_refuses_links(client: Client) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        link = tarfile.TarInfo("link")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        archive.addfile(link)
    response = client.post(
        f"{API}/batch/sites/oslo/import/x", buffer.getvalue(), content_type="application/x-tar"
    )
    assert response.status_code == 422
