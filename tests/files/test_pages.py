"""The file browser's pages: listing, upload, new folder, move, delete, restore, versions and
download, what readers and writers are shown, and hostile input through the web door."""

from __future__ import annotations

import io
import re
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.test import Client

from cohortvault.access.policy import Principal
from cohortvault.consortium.models import Site
from cohortvault.files import services, views
from cohortvault.files.models import Node
from cohortvault.identity.models import User
from cohortvault.storage.maintenance import backend
from tests import factories
from tests.files import traversal

pytestmark = pytest.mark.django_db

BASE = traversal.BASE  # sites/oslo/import, which the site member may write


@pytest.fixture
def member(site_member: User) -> Principal:
    return factories.principal(site_member)


@pytest.fixture
def client(site_member: User) -> Client:
    return factories.signed_in_client(site_member)


def put(principal: Principal, path: str, data: bytes) -> services.Entry:
    return services.write_file(principal, path, io.BytesIO(data), size=len(data))


def read(principal: Principal, path: str, **kwargs: object) -> bytes:
    return b"".join(services.read_file(principal, path, **kwargs).chunks)  # type: ignore[arg-type]


def body(response) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join(response.streaming_content)


def page(response) -> str:  # type: ignore[no-untyped-def]
    return str(response.content.decode())


def stored_ciphertext() -> bytes:
    return b"".join(p.read_bytes() for p in backend().root.glob("??/*"))


def messages_of(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in response.context["messages"]]


# --- what each user is shown ------------------------------------------------------------------


def test_areas_page_lists_what_i_can_reach(client: Client, other_site: Site) -> None:
    response = client.get("/files/")
    assert response.status_code == 200
    html = page(response)
    assert 'href="/files/sites/oslo/import/"' in html
    assert 'href="/files/sites/oslo/data/"' in html
    assert 'href="/files/home/oslo1/"' in html
    assert "berlin" not in html


def test_listing_shows_folders_then_files_with_size_date_and_author(
    client: Client, member: Principal
) -> None:
    put(member, f"{BASE}/wave1/scores.csv", b"a,b\n1,2\n")
    put(member, f"{BASE}/notes.txt", b"x" * 2048)
    response = client.get(f"/files/{BASE}/")
    assert response.status_code == 200
    html = page(response)
    assert html.index('href="/files/sites/oslo/import/wave1/"') < html.index(
        f'href="/files/{BASE}/notes.txt"'
    )
    assert "2.0\xa0KB" in html and "oslo1" in html
    assert f'href="/files/download/{BASE}/notes.txt"' in html
    inner = client.get(f"/files/{BASE}/wave1/")
    assert f'href="/files/{BASE}/wave1/scores.csv"' in page(inner)
    assert [c.name for c in inner.context["crumbs"]] == ["Files", BASE, "wave1"]


def test_writers_see_upload_new_folder_move_and_delete(client: Client, member: Principal) -> None:
    put(member, f"{BASE}/a.csv", b"1")
    html = page(client.get(f"/files/{BASE}/"))
    assert 'id="upload-form"' in html and 'enctype="multipart/form-data"' in html
    assert 'type="file" name="files" multiple' in html
    assert f'action="/files/new-folder/{BASE}"' in html
    assert f'action="/files/delete/{BASE}/a.csv"' in html
    assert f'action="/files/move/{BASE}/a.csv"' in html
    assert f'href="/files/deleted/{BASE}/"' in html
    assert 'src="/static/files/upload.js"' in html
    assert f'data-folder="{BASE}"' in html and 'data-api="/api/v1/files/"' in html


def test_readers_see_a_read_only_listing_and_cannot_change_anything(
    client: Client, data_manager: User
) -> None:
    curator = factories.principal(data_manager)
    put(curator, "sites/oslo/data/study/wave1/cognition.csv", b"s,score\n1,27\n")
    html = page(client.get("/files/sites/oslo/data/study/wave1/"))
    assert "cognition.csv" in html and 'id="read-only"' in html
    assert 'href="/files/download/sites/oslo/data/study/wave1/cognition.csv"' in html
    for control in ("upload-form", "/files/new-folder/", "/files/delete/", "/files/move/"):
        assert control not in html
    assert "/files/deleted/" not in html and "upload.js" not in html
    file_page = page(client.get("/files/sites/oslo/data/study/wave1/cognition.csv"))
    assert 'id="download"' in file_page
    assert 'id="versions"' not in file_page and "/files/delete/" not in file_page
    # the services refuse what the page does not offer
    refused = client.post("/files/delete/sites/oslo/data/study/wave1/cognition.csv")
    assert refused.status_code == 403
    assert client.get("/files/deleted/sites/oslo/data/").status_code == 403
    assert read(curator, "sites/oslo/data/study/wave1/cognition.csv") == b"s,score\n1,27\n"


def test_file_page_shows_size_and_a_folder_path_redirects_to_its_listing(
    client: Client, member: Principal
) -> None:
    put(member, f"{BASE}/wave1/scores.csv", b"a,b\n1,2\n")
    response = client.get(f"/files/{BASE}/wave1/scores.csv")
    assert response.status_code == 200
    assert "8\xa0bytes" in page(response)
    assert client.get(f"/files/{BASE}/wave1").url == f"/files/{BASE}/wave1/"
    assert client.get(f"/files/{BASE}").url == f"/files/{BASE}/"


# --- uploads ----------------------------------------------------------------------------------


def test_multipart_upload_of_two_files_stores_them_encrypted(
    client: Client, member: Principal
) -> None:
    first = b"subject,score\nKari Nordmann,27\n" * 20
    second = bytes(range(256)) * 8
    response = client.post(
        f"/files/upload/{BASE}/wave1",
        {
            "files": [
                SimpleUploadedFile("cognition.csv", first),
                SimpleUploadedFile("scan.bin", second),
            ]
        },
        follow=True,
    )
    assert response.redirect_chain == [(f"/files/{BASE}/wave1/", 302)]
    assert messages_of(response) == ["Stored 2 files: cognition.csv, scan.bin."]
    assert read(member, f"{BASE}/wave1/cognition.csv") == first
    assert read(member, f"{BASE}/wave1/scan.bin") == second
    assert b"Kari Nordmann" not in stored_ciphertext()


def test_form_uploads_are_held_in_memory_never_in_a_temporary_file(
    client: Client, member: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_disk(*args: object, **kwargs: object) -> None:
        raise AssertionError("a plaintext upload was written to a temporary file")

    monkeypatch.setattr(TemporaryUploadedFile, "__init__", no_disk)
    big = b"0123456789abcdef" * (256 * 1024)  # 4 MiB: more than Django keeps in memory itself
    response = client.post(f"/files/upload/{BASE}", {"files": SimpleUploadedFile("big.bin", big)})
    assert response.status_code == 302
    assert read(member, f"{BASE}/big.bin") == big


def test_upload_over_the_memory_cap_is_refused_and_stores_nothing(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "FORM_UPLOAD_LIMIT", 64 * 1024)
    response = client.post(
        f"/files/upload/{BASE}",
        {
            "files": [
                SimpleUploadedFile("small.csv", b"1,2\n"),
                SimpleUploadedFile("large.bin", b"x" * 100_000),
            ]
        },
    )
    assert response.status_code == 413
    html = page(response)
    assert "more than a plain form upload can take (64.0\xa0KB per upload)" in html
    assert "With JavaScript enabled" in html
    assert Node.objects.count() == 0
    assert list(backend().stored_blobs()) == []


def test_upload_refusals_are_listed_per_file(
    client: Client, member: Principal, settings: object
) -> None:
    settings.COHORTVAULT_MAX_UPLOAD_SIZE = 10  # type: ignore[attr-defined]
    response = client.post(
        f"/files/upload/{BASE}",
        {
            "files": [
                SimpleUploadedFile("ok.csv", b"1,2\n"),
                SimpleUploadedFile("too-big.csv", b"x" * 11),
            ]
        },
    )
    assert response.status_code == 413
    html = page(response)
    assert "Some files were not stored" in html
    assert re.search(r"too-big\.csv</strong>: 11 bytes is more than the limit", html)
    assert read(member, f"{BASE}/ok.csv") == b"1,2\n"
    assert not Node.objects.filter(path="too-big.csv").exists()


def test_upload_without_files_is_invalid(client: Client) -> None:
    response = client.post(f"/files/upload/{BASE}", {})
    assert response.status_code == 422
    assert "Choose one or more files" in page(response)


# --- folders, moves, deletion, restore, versions, download -----------------------------------


def test_new_folder(client: Client, member: Principal) -> None:
    response = client.post(f"/files/new-folder/{BASE}", {"name": "wave 3"}, follow=True)
    assert response.redirect_chain == [(f"/files/{BASE}/", 302)]
    assert messages_of(response) == ["Created folder wave 3."]
    assert 'href="/files/sites/oslo/import/wave%203/"' in page(response)
    assert services.stat(member, f"{BASE}/wave 3").is_folder
    assert client.post(f"/files/new-folder/{BASE}", {"name": ""}).status_code == 422


def test_move_renames_within_the_area_and_not_across(client: Client, member: Principal) -> None:
    put(member, f"{BASE}/a.csv", b"content")
    response = client.post(
        f"/files/move/{BASE}/a.csv", {"area": BASE, "target": "wave2/b.csv"}, follow=True
    )
    assert response.redirect_chain == [(f"/files/{BASE}/wave2/", 302)]
    assert read(member, f"{BASE}/wave2/b.csv") == b"content"
    # a forged area field cannot carry a file out of its area
    forged = client.post(
        f"/files/move/{BASE}/wave2/b.csv", {"area": "sites/oslo/data", "target": "b.csv"}
    )
    assert forged.status_code in {403, 422}
    assert read(member, f"{BASE}/wave2/b.csv") == b"content"


def test_delete_then_restore_from_recently_deleted(client: Client, member: Principal) -> None:
    put(member, f"{BASE}/wave1/scores.csv", b"a,b\n1,2\n")
    response = client.post(f"/files/delete/{BASE}/wave1/scores.csv", follow=True)
    assert response.redirect_chain == [(f"/files/{BASE}/wave1/", 302)]
    assert messages_of(response)[0].startswith("Deleted scores.csv. It can be restored")
    assert "scores.csv" not in page(response).split('id="listing"')[1]

    deleted = client.get(f"/files/deleted/{BASE}/")
    assert deleted.status_code == 200
    html = page(deleted)
    assert "wave1/scores.csv" in html
    assert f'action="/files/restore/{BASE}/wave1/scores.csv"' in html

    restored = client.post(f"/files/restore/{BASE}/wave1/scores.csv", follow=True)
    assert restored.redirect_chain == [(f"/files/{BASE}/wave1/", 302)]
    assert messages_of(restored) == ["Restored scores.csv."]
    assert f'href="/files/{BASE}/wave1/scores.csv"' in page(restored)
    assert read(member, f"{BASE}/wave1/scores.csv") == b"a,b\n1,2\n"
    assert 'id="nothing-deleted"' in page(client.get(f"/files/deleted/{BASE}/"))


def test_deleting_a_folder_restores_it_with_its_content(client: Client, member: Principal) -> None:
    put(member, f"{BASE}/wave1/a.csv", b"a")
    put(member, f"{BASE}/wave1/b.csv", b"b")
    assert client.post(f"/files/delete/{BASE}/wave1").url == f"/files/{BASE}/"
    listed = client.get(f"/files/deleted/{BASE}/").context["rows"]
    assert [row.inner_path for row in listed] == ["wave1"]
    client.post(f"/files/restore/{BASE}/wave1")
    assert read(member, f"{BASE}/wave1/b.csv") == b"b"


def test_versions_page_and_restore_of_an_older_version(client: Client, member: Principal) -> None:
    put(member, f"{BASE}/a.csv", b"first")
    put(member, f"{BASE}/a.csv", b"second")
    response = client.get(f"/files/{BASE}/a.csv")
    history = response.context["history"]
    assert [v.current for v in history] == [True, False]
    older = history[1].id
    html = page(response)
    assert f'name="version" value="{older}"' in html
    assert f'href="/files/download/{BASE}/a.csv?version={older}"' in html
    assert body(client.get(f"/files/download/{BASE}/a.csv", {"version": older})) == b"first"

    restored = client.post(f"/files/restore/{BASE}/a.csv", {"version": older}, follow=True)
    assert restored.redirect_chain == [(f"/files/{BASE}/a.csv", 302)]
    assert read(member, f"{BASE}/a.csv") == b"first"
    assert len(restored.context["history"]) == 3
    assert f"restored from version {older}" in page(restored)
    assert client.post(f"/files/restore/{BASE}/a.csv", {"version": "x"}).status_code == 422


def test_download_is_an_attachment_that_is_not_cached(client: Client, member: Principal) -> None:
    name = "we'ird name é.csv"
    put(member, f"{BASE}/wave1/{name}", b"a,b\n1,2\n")
    response = client.get(f"/files/download/{BASE}/wave1/{quote(name)}")
    assert response.status_code == 200
    assert body(response) == b"a,b\n1,2\n"
    assert response["Content-Disposition"].startswith("attachment; filename*=utf-8''we")
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Length"] == "8"


def test_another_sites_area_answers_like_nothing_is_there(
    client: Client, other_site: Site, data_manager: User
) -> None:
    put(factories.principal(data_manager), "sites/berlin/import/secret.csv", b"berlin only")
    for url in (
        "/files/sites/berlin/import/",
        "/files/sites/berlin/import/secret.csv",
        "/files/download/sites/berlin/import/secret.csv",
        "/files/sites/nowhere/import/",
        "/files/home/dm1/",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "There is nothing here, or you may not see it." in page(response)
    upload = client.post(
        "/files/upload/sites/berlin/import", {"files": SimpleUploadedFile("x.csv", b"1")}
    )
    assert upload.status_code == 404
    assert client.post("/files/delete/sites/berlin/import/secret.csv").status_code == 404
    assert not Node.objects.filter(area="sites/berlin/import", path="x.csv").exists()


# --- hostile input ----------------------------------------------------------------------------

HOSTILE = traversal.PAYLOADS  # the whole corpus: 59 hostile names


def multipart_with_raw_name(name: str, content: bytes) -> bytes:
    """A multipart body whose file name is sent exactly as given (the test client's own
    encoder would take the base name first, hiding what a hostile client can send)."""
    head = (
        f'--BoUnDaRy\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    return head.encode("utf-8", "surrogateescape") + content + b"\r\n--BoUnDaRy--\r\n"


def test_traversal_payloads_never_leave_the_folder(
    client: Client, member: Principal, other_site: Site, data_manager: User
) -> None:
    """Each payload goes in as an uploaded file's name, a new folder's name and a move target;
    whatever is accepted lands inside sites/oslo/import under a harmless literal name."""
    curator = factories.principal(data_manager)
    put(curator, "sites/berlin/import/evil.csv", b"berlin secret")
    put(curator, "sites/oslo/data/evil.csv", b"oslo data")
    outcomes = set()
    for number, payload in enumerate(HOSTILE):
        put(member, f"{BASE}/source{number}.csv", b"moved")
        as_upload = client.post(
            f"/files/upload/{BASE}",
            multipart_with_raw_name(payload, b"payload"),
            content_type="multipart/form-data; boundary=BoUnDaRy",
        )
        as_folder = client.post(f"/files/new-folder/{BASE}", {"name": payload})
        as_move_target = client.post(
            f"/files/move/{BASE}/source{number}.csv", {"area": BASE, "target": payload}
        )
        for response in (as_upload, as_folder, as_move_target):
            assert response.status_code == 302 or 400 <= response.status_code < 500, payload
            outcomes.add(response.status_code)
    assert 302 in outcomes and 422 in outcomes  # some stored under a harmless name, some refused
    assert Node.objects.filter(area=BASE).count() > len(HOSTILE)
    for node in Node.objects.exclude(area__in=["sites/berlin/import", "sites/oslo/data"]):
        assert traversal.stays_inside(node.full_path), node.full_path
    assert [n.path for n in Node.objects.filter(area="sites/berlin/import")] == ["evil.csv"]
    assert [n.path for n in Node.objects.filter(area="sites/oslo/data")] == ["evil.csv"]
    assert read(curator, "sites/berlin/import/evil.csv") == b"berlin secret"
    assert read(curator, "sites/oslo/data/evil.csv") == b"oslo data"


@pytest.mark.parametrize("payload", HOSTILE, ids=[ascii(p)[1:-1][:40] for p in HOSTILE])
def test_traversal_payloads_in_page_urls_reach_nothing(
    client: Client,
    other_site: Site,
    data_manager: User,
    payload: str,
    request: pytest.FixtureRequest,
) -> None:
    put(factories.principal(data_manager), "sites/berlin/import/evil.csv", b"berlin secret")
    for url in (
        f"/files/download/{BASE}/{quote(payload)}",
        f"/files/{BASE}/{quote(payload)}",
        f"/files/{BASE}/{quote(payload)}/",
        f"/files/deleted/{BASE}/{quote(payload)}/",
    ):
        response = client.get(url)
        # a literal name such as "%2e%2e" is a harmless (empty) place inside the folder
        harmless = payload in traversal.HARMLESS and response.status_code == 200
        assert response.status_code in {400, 404, 422} or harmless, url
        assert b"berlin secret" not in response.content


# --- cross-site requests ----------------------------------------------------------------------


@pytest.fixture
def strict_client(site_member: User) -> Client:
    """A client that, like a browser, must pass Django's CSRF checks."""
    return factories.signed_in_client(site_member, enforce_csrf_checks=True)


def csrf_token(client: Client) -> str:
    client.get(f"/files/{BASE}/")
    return str(client.cookies["csrftoken"].value)


def test_cross_origin_posts_are_refused(strict_client: Client, member: Principal) -> None:
    put(member, f"{BASE}/keep.csv", b"keep")
    token = csrf_token(strict_client)
    evil = {"HTTP_ORIGIN": "https://evil.example"}
    attempts = [
        strict_client.post(f"/files/delete/{BASE}/keep.csv"),  # no token at all
        strict_client.post(
            f"/files/delete/{BASE}/keep.csv", {"csrfmiddlewaretoken": token}, **evil
        ),
        strict_client.post(
            f"/files/upload/{BASE}",
            {"files": SimpleUploadedFile("forged.csv", b"x")},
            **evil,
        ),
        strict_client.post(
            f"/files/upload/{BASE}",
            {"files": SimpleUploadedFile("forged.csv", b"x"), "csrfmiddlewaretoken": token},
            **evil,
        ),
        strict_client.post(f"/files/new-folder/{BASE}", {"name": "forged"}),
    ]
    for response in attempts:
        assert response.status_code == 403
        assert "cross-site request or expired page" in page(response)
    assert read(member, f"{BASE}/keep.csv") == b"keep"
    assert not Node.objects.filter(path__in=["forged.csv", "forged"]).exists()
    # the same requests from the page itself go through
    same_origin = {"HTTP_ORIGIN": "http://testserver"}
    upload = strict_client.post(
        f"/files/upload/{BASE}",
        {"files": SimpleUploadedFile("ok.csv", b"x"), "csrfmiddlewaretoken": token},
        **same_origin,
    )
    assert upload.status_code == 302
    deleted = strict_client.post(
        f"/files/delete/{BASE}/keep.csv", {"csrfmiddlewaretoken": token}, **same_origin
    )
    assert deleted.status_code == 302


def test_the_upload_scripts_request_needs_the_csrf_header(
    strict_client: Client, member: Principal
) -> None:
    """upload.js sends PUT /api/v1/files/<folder>/<name> with the page's token in X-CSRFToken."""
    token = csrf_token(strict_client)
    url = f"/api/v1/files/{BASE}/{quote('from script.csv')}"
    refused = strict_client.put(url, b"1,2\n", content_type="application/octet-stream")
    assert refused.status_code in {401, 403}
    stored = strict_client.put(
        url, b"1,2\n", content_type="application/octet-stream", HTTP_X_CSRFTOKEN=token
    )
    assert stored.status_code == 201
    assert read(member, f"{BASE}/from script.csv") == b"1,2\n"
