"""The file service: writes, reads, folders, moves, deletion, versions and restore."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from cohortvault.access.policy import Principal, Role
from cohortvault.audit.models import AuditEntry
from cohortvault.consortium.models import Site
from cohortvault.errors import Conflict, Invalid, NotFound, PermissionDenied
from cohortvault.files import services
from cohortvault.files.models import FileVersion, Node
from cohortvault.files.retention import purge_expired
from cohortvault.identity.models import User
from cohortvault.storage.maintenance import backend
from cohortvault.storage.models import Blob
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(site_member: User) -> Principal:
    return factories.principal(site_member)


def put(principal: Principal, path: str, data: bytes) -> services.Entry:
    return services.write_file(principal, path, io.BytesIO(data), size=len(data))


def read(principal: Principal, path: str, **kwargs: object) -> bytes:
    return b"".join(services.read_file(principal, path, **kwargs).chunks)  # type: ignore[arg-type]


def stored_bytes() -> bytes:
    return b"".join(p.read_bytes() for p in backend().root.glob("??/*"))


def test_write_then_read_round_trip(member: Principal) -> None:
    entry = put(member, "sites/oslo/import/visit2/cognition.csv", b"subject,score\ns1,27\n")
    assert (entry.path, entry.size, entry.kind) == (
        "sites/oslo/import/visit2/cognition.csv",
        20,
        "file",
    )
    assert read(member, "sites/oslo/import/visit2/cognition.csv") == b"subject,score\ns1,27\n"
    folder = services.list_folder(member, "sites/oslo/import")
    assert [(e.name, e.kind) for e in folder.entries] == [("visit2", "folder")]
    assert [e.name for e in services.list_folder(member, "sites/oslo/import/visit2/").entries] == [
        "cognition.csv"
    ]


def test_content_is_encrypted_at_rest(member: Principal) -> None:
    secret = b"Kari Nordmann 01019912345 very identifiable " * 100
    put(member, "sites/oslo/import/secret.txt", secret)
    on_disk = stored_bytes()
    assert on_disk.startswith(b"age-encryption.org/v1")
    assert b"Kari Nordmann" not in on_disk


def test_checksums_differ_between_areas_for_the_same_content(
    member: Principal, data_manager: User
) -> None:
    dm = factories.principal(data_manager)
    put(member, "sites/oslo/import/a.csv", b"same content")
    put(dm, "sites/oslo/data/a.csv", b"same content")
    checksums = set(Blob.objects.values_list("checksum", flat=True))
    assert len(checksums) == 2


def test_every_call_is_audited_reads_too(member: Principal) -> None:
    put(member, "sites/oslo/import/a.csv", b"1")
    read(member, "sites/oslo/import/a.csv")
    services.list_folder(member, "sites/oslo/import")
    actions = list(AuditEntry.objects.filter(actor="oslo1").values_list("action", "target"))
    assert ("files.write", "sites/oslo/import/a.csv") in actions
    assert ("files.read", "sites/oslo/import/a.csv") in actions
    assert ("files.list", "sites/oslo/import") in actions


def test_policy_is_applied_and_refusals_audited(member: Principal, other_site: Site) -> None:
    with pytest.raises(PermissionDenied):
        put(member, "sites/oslo/data/x.csv", b"site members never write site data")
    with pytest.raises(NotFound):  # another site's area answers like a missing one
        read(member, "sites/berlin/import/anything.csv")
    with pytest.raises(NotFound):
        put(member, "sites/berlin/import/x.csv", b"no")
    with pytest.raises(NotFound):
        services.list_folder(member, "home/someone-else")
    denied = AuditEntry.objects.filter(actor="oslo1", outcome="denied")
    assert denied.count() == 4
    assert not Node.objects.exists()


def test_unknown_site_and_project_are_not_found(data_manager: User) -> None:
    dm = factories.principal(data_manager)
    with pytest.raises(NotFound):
        put(dm, "sites/nowhere/data/x.csv", b"1")
    with pytest.raises(NotFound):
        services.list_folder(dm, "projects/nothing")


def test_overwrite_keeps_the_previous_version_restorable(member: Principal) -> None:
    path = "sites/oslo/import/a.csv"
    put(member, path, b"first")
    put(member, path, b"second")
    history = services.versions(member, path)
    assert [v.current for v in history] == [True, False]
    assert history[1].restorable_until is not None
    assert read(member, path) == b"second"
    assert read(member, path, version=history[1].id) == b"first"
    services.restore(member, path, version=history[1].id)
    assert read(member, path) == b"first"
    assert "restored from version" in services.versions(member, path)[0].note


def test_delete_and_restore_a_folder_with_its_content(member: Principal) -> None:
    put(member, "sites/oslo/import/wave1/a.csv", b"a")
    put(member, "sites/oslo/import/wave1/sub/b.csv", b"b")
    services.delete(member, "sites/oslo/import/wave1")
    assert services.list_folder(member, "sites/oslo/import").entries == []
    with pytest.raises(NotFound):
        read(member, "sites/oslo/import/wave1/a.csv")
    deleted = services.recently_deleted(member, "sites/oslo/import")
    assert [e.path for e in deleted] == ["sites/oslo/import/wave1"]
    services.restore(member, "sites/oslo/import/wave1")
    assert read(member, "sites/oslo/import/wave1/sub/b.csv") == b"b"


def test_restoring_what_is_not_deleted_needs_a_version(member: Principal) -> None:
    put(member, "sites/oslo/import/a.csv", b"a")
    with pytest.raises(Conflict):
        services.restore(member, "sites/oslo/import/a.csv")


def test_readers_cannot_see_versions_or_restore(
    site: Site, data_manager: User, site_member: User
) -> None:
    dm, member = factories.principal(data_manager), factories.principal(site_member)
    put(dm, "sites/oslo/data/a.csv", b"1")
    put(dm, "sites/oslo/data/a.csv", b"2")
    assert read(member, "sites/oslo/data/a.csv") == b"2"
    with pytest.raises(PermissionDenied):
        services.versions(member, "sites/oslo/data/a.csv")
    with pytest.raises(PermissionDenied):
        services.delete(member, "sites/oslo/data/a.csv")


def test_move_within_an_area(member: Principal) -> None:
    put(member, "sites/oslo/import/old/a.csv", b"a")
    services.move(member, "sites/oslo/import/old", "sites/oslo/import/new/place")
    assert read(member, "sites/oslo/import/new/place/a.csv") == b"a"
    with pytest.raises(NotFound):
        services.stat(member, "sites/oslo/import/old")
    with pytest.raises(Invalid):
        services.move(member, "sites/oslo/import/new", "sites/oslo/import/new/inside")
    with pytest.raises(Invalid):
        services.move(member, "sites/oslo/import/new", "home/oslo1/new")


def test_file_and_folder_collisions(member: Principal) -> None:
    put(member, "sites/oslo/import/a", b"file")
    with pytest.raises(Conflict):
        put(member, "sites/oslo/import/a/b.csv", b"under a file")
    services.make_folder(member, "sites/oslo/import/f")
    with pytest.raises(Conflict):
        put(member, "sites/oslo/import/f", b"over a folder")
    with pytest.raises(Invalid):
        read(member, "sites/oslo/import/f")


def test_short_upload_stores_nothing(member: Principal) -> None:
    put(member, "sites/oslo/import/a.csv", b"original")
    with pytest.raises(Invalid):
        services.write_file(member, "sites/oslo/import/a.csv", io.BytesIO(b"trunc"), size=1000)
    assert read(member, "sites/oslo/import/a.csv") == b"original"
    assert Blob.objects.count() == 1
    assert len(list(backend().stored_blobs())) == 1


def test_upload_over_the_limit_is_refused(member: Principal, settings) -> None:
    settings.COHORTVAULT_MAX_UPLOAD_SIZE = 1000
    with pytest.raises(Invalid) as announced:
        services.write_file(member, "sites/oslo/import/big", io.BytesIO(b"x" * 2000), size=2000)
    assert announced.value.status == 413
    with pytest.raises(Invalid):  # a sender that lies about the size is stopped at the limit
        services.write_file(member, "sites/oslo/import/big", io.BytesIO(b"x" * 2000), size=None)
    assert not Node.objects.filter(path="big").exists()
    assert list(backend().stored_blobs()) == []


def test_upload_that_would_fill_the_disk_is_refused(member: Principal, settings) -> None:
    settings.COHORTVAULT_MIN_FREE_SPACE = 10**18
    with pytest.raises(services.InsufficientStorage):
        put(member, "sites/oslo/import/a.csv", b"1")


def test_retention_purges_old_versions_and_deleted_files(
    member: Principal, django_capture_on_commit_callbacks: Any
) -> None:
    put(member, "sites/oslo/import/a.csv", b"v1")
    put(member, "sites/oslo/import/a.csv", b"v2")
    put(member, "sites/oslo/import/gone.csv", b"bye")
    services.delete(member, "sites/oslo/import/gone.csv")
    assert purge_expired()["versions purged"] == 0
    long_ago = timezone.now() - timedelta(days=4)
    FileVersion.objects.filter(replaced_at__isnull=False).update(replaced_at=long_ago)
    Node.objects.filter(deleted_at__isnull=False).update(deleted_at=long_ago)
    with django_capture_on_commit_callbacks(execute=True):  # blob files go once rows are gone
        counts = purge_expired()
    assert counts["deleted files purged"] == 1 and counts["blobs released"] == 2
    assert read(member, "sites/oslo/import/a.csv") == b"v2"
    assert len(services.versions(member, "sites/oslo/import/a.csv")) == 1
    with pytest.raises(NotFound):
        services.restore(member, "sites/oslo/import/gone.csv")
    assert Blob.objects.count() == 1 and len(list(backend().stored_blobs())) == 1


def test_site_and_project_areas_get_keys_when_created(administrator: User) -> None:
    from cohortvault.storage.models import AreaKey

    factories.make_site("tromso")
    factories.make_project("beta")
    factories.make_user("newbie")
    areas = set(AreaKey.objects.values_list("area", flat=True))
    assert {"sites/tromso/data", "sites/tromso/import", "projects/beta", "home/newbie"} <= areas


def test_home_area_is_private(site_member: User, user: User) -> None:
    owner = factories.principal(site_member)
    put(owner, "home/oslo1/notes.txt", b"mine")
    with pytest.raises(NotFound):
        read(factories.principal(user), "home/oslo1/notes.txt")
    assert read(owner, "home/oslo1/notes.txt") == b"mine"


def test_project_area_for_members_and_data_manager(project, data_manager: User) -> None:
    researcher = factories.make_user("researcher")
    factories.grant(researcher, Role.PROJECT_MEMBER, project=project)
    r = factories.principal(researcher)
    put(Principal.system(), "projects/alpha/deliveries/001/data.csv", b"d")
    assert read(r, "projects/alpha/deliveries/001/data.csv") == b"d"
    put(r, "projects/alpha/analysis/model.R", b"lm()")


def test_deliveries_are_sealed(project, data_manager: User) -> None:
    """Only the platform writes a project's deliveries; nobody overwrites, moves or deletes them."""
    researcher = factories.make_user("researcher")
    factories.grant(researcher, Role.PROJECT_MEMBER, project=project)
    put(Principal.system(), "projects/alpha/deliveries/001/data.csv", b"d")
    attempts = [
        lambda who: put(who, "projects/alpha/deliveries/001/data.csv", b"changed"),
        lambda who: put(who, "projects/alpha/deliveries/002/data.csv", b"forged"),
        lambda who: services.delete(who, "projects/alpha/deliveries/001/data.csv"),
        lambda who: services.delete(who, "projects/alpha/deliveries"),
        lambda who: services.move(who, "projects/alpha/deliveries/001", "projects/alpha/x"),
        lambda who: services.make_folder(who, "projects/alpha/deliveries/003"),
    ]
    for someone in (factories.principal(researcher), factories.principal(data_manager)):
        for attempt in attempts:
            with pytest.raises(PermissionDenied):
                attempt(someone)
        assert read(someone, "projects/alpha/deliveries/001/data.csv") == b"d"
    refusals = AuditEntry.objects.filter(action="access.write", outcome="denied")
    assert refusals.filter(reason__contains="deliveries are immutable").count() >= 8
