"""The dictionary's doors: import, versions, diff, export, publish, and who may change it."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from cohortvault.access.policy import Principal, Scope
from cohortvault.audit.models import AuditEntry
from cohortvault.catalog import services
from cohortvault.catalog.models import DictionaryVersion
from cohortvault.catalog.schema import Dictionary, Variable
from cohortvault.errors import Conflict, Invalid, NotFound, PermissionDenied
from cohortvault.files import services as files
from cohortvault.identity.models import User
from cohortvault.storage.maintenance import backend
from tests import factories
from tests.catalog.conftest import MMSE, as_json, schema_with

pytestmark = pytest.mark.django_db


def entries(action: str, **filters: Any) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, **filters).order_by("seq"))


def read(principal: Principal, path: str) -> bytes:
    return b"".join(files.read_file(principal, path).chunks)


def changed(dictionary: Dictionary, name: str, **fields: Any) -> Dictionary:
    variables = tuple(
        dataclasses.replace(v, **fields) if v.name == name else v for v in dictionary.variables
    )
    return dataclasses.replace(dictionary, variables=variables)


# --- import and versions --------------------------------------------------------------------


def test_import_stores_the_first_version_and_audits_it(
    imported: services.VersionInfo, demo: Dictionary, manager: Principal
) -> None:
    assert (imported.number, imported.created_by, imported.variables) == (1, "dm1", 51)
    assert imported.note == "first version"
    assert imported.warnings == (
        "Sites the consortium does not have (yet): berlin, oslo, uppsala; expected by "
        "brain_age_gap_years, cortical_thickness_mean_mm, entorhinal_thickness_mm, "
        "fazekas_deep, grey_matter_volume_ml and 11 more.",
        "Timepoints the consortium does not have (yet): baseline, followup, t0, t2, wave1, "
        "wave3; expected by brain_age_gap_years, cortical_thickness_mean_mm, "
        "entorhinal_thickness_mm, fazekas_deep, grey_matter_volume_ml and 11 more.",
    )
    assert services.current() == dataclasses.replace(demo, version=1)
    assert services.current(manager).version == 1
    [entry] = entries("dictionary.import")
    assert entry.actor == "dm1" and entry.outcome == "ok"
    assert entry.details["version"] == 1 and entry.details["changes"] == "first version"
    assert entry.details["checksum"] == imported.checksum
    row = DictionaryVersion.objects.get()
    assert row.intact and row.table_schema["cohortvault"] == {"dictionaryVersion": 1}


def test_every_import_is_a_new_version_and_the_highest_is_current(
    imported: services.VersionInfo, demo: Dictionary, manager: Principal
) -> None:
    second = changed(demo, "mmse", label="MMSE total")
    created = services.import_dictionary(
        manager, services.file_of(second, "csv"), format="csv", note="shorter label"
    )
    assert created.number == 2
    assert services.current().variable("mmse").label == "MMSE total"  # type: ignore[union-attr]
    assert services.version(1).variable("mmse").label == "Mini-Mental State Examination"  # type: ignore[union-attr]
    assert [v.number for v in services.versions()] == [2, 1]
    assert services.version_info().number == 2
    history = services.history()
    assert [e.info.number for e in history] == [2, 1]
    assert history[0].changes is not None and history[0].changes.summary() == "1 changed"
    assert history[1].changes is None


def test_an_identical_file_makes_no_new_version(
    imported: services.VersionInfo, demo: Dictionary, manager: Principal
) -> None:
    with pytest.raises(Conflict, match="identical to version 1"):
        services.import_dictionary(manager, services.file_of(demo, "xlsx"), format="xlsx")
    assert DictionaryVersion.objects.count() == 1
    assert entries("dictionary.import")[-1].outcome == "failed"


def test_invalid_file_stores_nothing_and_the_failure_is_audited(manager: Principal) -> None:
    bad = schema_with(dict(MMSE, constraints={"minimum": 40, "maximum": 30}))
    with pytest.raises(Invalid) as caught:
        services.import_dictionary(manager, as_json(bad), format="json", note="oops")
    assert caught.value.message == "The dictionary has 1 problem; nothing was stored."
    assert caught.value.details == [
        {
            "message": "40 is greater than the maximum 30",
            "location": "field 4",
            "variable": "mmse",
            "property": "minimum",
        }
    ]
    assert not DictionaryVersion.objects.exists()
    [entry] = entries("dictionary.import")
    assert entry.outcome == "failed" and entry.details["problems"] == 1
    assert not entries("files.write")


def test_a_failed_import_leaves_the_current_version_untouched(
    imported: services.VersionInfo, manager: Principal
) -> None:
    before = read(manager, "logs/data-dictionary/data-dictionary.json")
    with pytest.raises(Invalid):
        services.import_dictionary(manager, b"name,type\nmmse,integer\n", format="csv")
    assert services.current().version == 1
    assert read(manager, "logs/data-dictionary/data-dictionary.json") == before


def test_format_and_size_are_checked(manager: Principal, settings: Any) -> None:
    with pytest.raises(Invalid, match="not a dictionary format"):
        services.import_dictionary(manager, b"{}", format="docx")
    too_big = b" " * (services.MAX_DICTIONARY_BYTES + 1)
    with pytest.raises(Invalid, match="at most 4 MiB"):
        services.import_dictionary(manager, too_big, format="json")
    with pytest.raises(Invalid, match="longer than 1000"):
        services.import_dictionary(manager, b"{}", format="json", note="x" * 1001)
    assert not DictionaryVersion.objects.exists()


def test_expected_sites_and_timepoints_unknown_to_the_consortium_are_warnings(
    manager: Principal, site: Any
) -> None:
    fields = dict(MMSE, cohortvault={"sites": ["oslo", "trondheim"], "timepoints": ["wave9"]})
    created = services.import_dictionary(manager, as_json(schema_with(fields)), format="json")
    assert created.warnings == (
        "Sites the consortium does not have (yet): trondheim; expected by mmse.",
        "Timepoints the consortium does not have (yet): wave9; expected by mmse.",
    )


def test_dictionary_wide_missing_values_move_onto_the_fields(manager: Principal) -> None:
    schema = schema_with(MMSE, dict(MMSE, name="moca", missingValues=None), missingValues=["NA"])
    del schema["fields"][4]["missingValues"]
    created = services.import_dictionary(manager, as_json(schema), format="json")
    assert "were given to every variable" in created.warnings[0]
    current = services.current()
    assert current.variable("moca").missing_values == ("NA",)  # type: ignore[union-attr]
    assert current.variable("mmse").missing_values == ("", "-99")  # type: ignore[union-attr]
    assert current.missing_values == ("",)


# --- reading --------------------------------------------------------------------------------


def test_reading_before_the_first_import_says_so() -> None:
    with pytest.raises(NotFound, match="No data dictionary has been imported yet"):
        services.current()
    assert services.versions() == [] and services.history() == []


def test_missing_versions_are_not_found(imported: services.VersionInfo) -> None:
    with pytest.raises(NotFound, match="has no version 7"):
        services.version(7)
    with pytest.raises(NotFound):
        services.diff(1, 7)
    with pytest.raises(NotFound):
        services.export_dictionary(7, "csv")


def test_everyone_reads_but_a_project_token_does_not(
    imported: services.VersionInfo, user: User, project: Any
) -> None:
    plain = factories.principal(user)
    assert services.current(plain).version == 1
    assert services.export_dictionary(None, "csv", principal=plain).startswith(b"name,type,")
    scoped = dataclasses.replace(plain, scope=Scope.PROJECT, scope_project="alpha")
    with pytest.raises(PermissionDenied):
        services.current(scoped)
    assert entries("access.read", outcome="denied")[-1].target == "data dictionary"


def test_search_over_name_label_and_description_with_filters(demo: Dictionary) -> None:
    names = [v.name for v in services.search(demo, text="hippocampal")]
    assert names == ["hippocampus_left_ml", "hippocampus_right_ml"]
    assert [v.name for v in services.search(demo, text="TRAIL making b")] == [
        "tmt_b_seconds",
        "tmt_b_errors",
    ]
    assert [v.name for v in services.search(demo, text="cerad", domain="cognition")] == [
        "word_recall_immediate",
        "word_recall_delayed",
        "word_recognition",
    ]
    sensitive = services.search(demo, sensitivity="sensitive")
    assert sensitive and all(v.domain == "clinical" for v in sensitive)
    assert services.search(demo, text="mmse", domain="mri-derived") == []
    assert len(services.search(demo)) == len(demo.variables)


def test_checksum_detects_a_version_changed_behind_the_services_back(
    imported: services.VersionInfo,
) -> None:
    table = DictionaryVersion._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER catalog_version_no_update")
        else:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER catalog_version_immutable")
        schema = DictionaryVersion.objects.get().table_schema
        schema["fields"][5]["title"] = "Gender"
        cursor.execute(f"UPDATE {table} SET schema = %s", [json.dumps(schema)])
    with pytest.raises(Conflict, match="does not match its checksum"):
        services.current()


# --- immutability ---------------------------------------------------------------------------


def test_versions_cannot_be_changed_or_deleted(imported: services.VersionInfo) -> None:
    row = DictionaryVersion.objects.get()
    row.note = "rewritten"
    with pytest.raises(Conflict):
        row.save()
    with pytest.raises(Conflict):
        row.delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        DictionaryVersion.objects.update(note="rewritten")
    assert DictionaryVersion.objects.get().note == "first version"


@pytest.mark.postgres
def test_postgresql_refuses_deleting_a_version(imported: services.VersionInfo) -> None:
    with pytest.raises(DatabaseError), transaction.atomic():
        DictionaryVersion.objects.all().delete()
    assert DictionaryVersion.objects.count() == 1


# --- diff -----------------------------------------------------------------------------------


def test_diff_names_added_removed_and_changed_properties(demo: Dictionary) -> None:
    old = dataclasses.replace(demo, version=1)
    new = changed(old, "mmse", maximum=31.0, missing_values=("", "-99"))
    new = changed(new, "sex", categories={"F": "Female", "M": "Male", "X": "Other"})
    extra = Variable("moca_memory", old.variable("mmse").type, "MoCA memory index")  # type: ignore[union-attr]
    new = dataclasses.replace(
        new,
        version=2,
        variables=(*(v for v in new.variables if v.name != "handedness"), extra),
    )
    from cohortvault.catalog.diff import compare

    changes = compare(old, new)
    assert [v.name for v in changes.added] == ["moca_memory"]
    assert [v.name for v in changes.removed] == ["handedness"]
    assert [(c.name, c.properties) for c in changes.changed] == [
        ("sex", ("categories",)),
        ("mmse", ("maximum", "missing_values")),
    ]
    mmse = changes.changed[1].changes
    assert (mmse[0].old_text, mmse[0].new_text) == ("30", "31")
    assert (mmse[1].old_text, mmse[1].new_text) == ('""|-99|-88', '""|-99')
    assert changes.summary() == "1 added, 1 removed, 2 changed"
    assert changes.as_dict()["changed"][1] == {
        "name": "mmse",
        "properties": [
            {"property": "maximum", "old": 30.0, "new": 31.0},
            {"property": "missing_values", "old": ["", "-99", "-88"], "new": ["", "-99"]},
        ],
    }


def test_diff_between_stored_versions(
    imported: services.VersionInfo, demo: Dictionary, manager: Principal
) -> None:
    second = changed(demo, "education_years", maximum=35.0)
    services.import_dictionary(manager, services.file_of(second, "json"), format="json")
    forward = services.diff(1, 2)
    assert [(c.name, c.properties) for c in forward.changed] == [("education_years", ("maximum",))]
    assert services.diff(2, 1).changed[0].changes[0].new == 30
    assert services.diff(2, 2).empty


# --- publishing -----------------------------------------------------------------------------


def test_import_publishes_every_format_to_the_common_area(
    imported: services.VersionInfo, demo: Dictionary, user: User, site_member: User
) -> None:
    for reader in (factories.principal(user), factories.principal(site_member)):
        listing = files.list_folder(reader, "logs/data-dictionary")
        assert sorted(e.name for e in listing.entries) == [
            "data-dictionary.csv",
            "data-dictionary.json",
            "data-dictionary.md",
            "data-dictionary.xlsx",
        ]
    plain = factories.principal(user)
    published = json.loads(read(plain, "logs/data-dictionary/data-dictionary.json"))
    assert published == dataclasses.replace(demo, version=1).to_table_schema()
    assert read(plain, "logs/data-dictionary/data-dictionary.csv") == services.export_dictionary(
        1, "csv"
    )
    page = read(plain, "logs/data-dictionary/data-dictionary.md").decode()
    assert page.startswith("# Data dictionary, version 1\n")
    assert "| `mmse` | Mini\\-Mental State Examination |" not in page  # '-' is not escaped
    assert "| `mmse` | Mini-Mental State Examination | integer | points | 0–30 |" in page
    assert imported.checksum in page
    entry = files.stat(plain, "logs/data-dictionary/data-dictionary.json")
    assert entry.modified_by == "system"
    publications = entries("dictionary.publish")
    assert publications[-1].actor == "system" and publications[-1].details["version"] == 1


def test_published_files_are_encrypted_at_rest(imported: services.VersionInfo) -> None:
    stored = b"".join(path.read_bytes() for path in backend().root.rglob("*") if path.is_file())
    assert b"Mini-Mental State Examination" not in stored
    assert b"hippocampus_left_ml" not in stored


def test_publish_again_as_the_data_manager(
    imported: services.VersionInfo, manager: Principal
) -> None:
    files.delete(manager, "logs/data-dictionary")
    assert services.publish(manager) == list(services.PUBLISHED_FILES)
    assert read(manager, "logs/data-dictionary/data-dictionary.md").startswith(b"# Data")
    assert entries("dictionary.publish")[-1].actor == "dm1"


# --- who may change it ----------------------------------------------------------------------


def test_a_site_member_may_not_change_the_dictionary_and_is_audited(
    member: Principal, imported: services.VersionInfo, demo: Dictionary
) -> None:
    data = services.file_of(changed(demo, "mmse", label="changed"), "json")
    with pytest.raises(PermissionDenied, match="Only the data manager"):
        services.import_dictionary(member, data, format="json")
    with pytest.raises(PermissionDenied):
        services.publish(member)
    assert services.current().variable("mmse").label == "Mini-Mental State Examination"  # type: ignore[union-attr]
    denials = entries("access.write", outcome="denied", actor="oslo1")
    assert [d.target for d in denials] == ["data dictionary", "data dictionary"]
    assert DictionaryVersion.objects.count() == 1


@pytest.mark.parametrize("role", ["administrator", "dpo", "user"])
def test_other_roles_may_not_change_it(role: str, request: pytest.FixtureRequest) -> None:
    other = factories.principal(request.getfixturevalue(role))
    with pytest.raises(PermissionDenied):
        services.import_dictionary(other, b"{}", format="json")
    assert not services.may_change(other)


def test_a_read_only_token_of_the_data_manager_may_not_change_it(manager: Principal) -> None:
    assert services.may_change(manager)
    narrowed = dataclasses.replace(manager, scope=Scope.READ_ONLY)
    with pytest.raises(PermissionDenied, match="read-only token"):
        services.import_dictionary(narrowed, b"{}", format="json")


def test_the_system_may_publish(imported: services.VersionInfo) -> None:
    assert services.publish(Principal.system()) == list(services.PUBLISHED_FILES)


def test_reordering_categories_or_variables_is_a_change(
    imported: services.VersionInfo, demo: Dictionary, manager: Principal
) -> None:
    flipped = changed(
        demo, "handedness", categories={"L": "Left", "R": "Right", "A": "Ambidextrous"}
    )
    services.import_dictionary(manager, services.file_of(flipped, "json"), format="json")
    assert [(c.name, c.properties) for c in services.diff(1, 2).changed] == [
        ("handedness", ("categories",))
    ]
    assert list(services.current().variable("handedness").categories) == ["L", "R", "A"]  # type: ignore[union-attr]
    moved = dataclasses.replace(flipped, variables=(*flipped.variables[1:], flipped.variables[0]))
    services.import_dictionary(manager, services.file_of(moved, "csv"), format="csv")
    assert services.diff(2, 3).summary() == "reordered"
    assert services.current().variables[-1].name == "subject_id"


def test_notes_are_one_line_without_control_characters(
    manager: Principal, demo: Dictionary
) -> None:
    data = services.file_of(demo, "json")
    with pytest.raises(Invalid, match="control characters"):
        services.import_dictionary(manager, data, format="json", note="a\x00b")
    created = services.import_dictionary(manager, data, format="json", note=" two\n lines ")
    assert created.note == "two lines"
