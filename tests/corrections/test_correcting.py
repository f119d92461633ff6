"""Corrections by cell edits and by a corrected file: new versions tied to the ticket, the
deliveries they reached, the notifications, the re-delivery and the public error log."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from cohortvault.audit.models import AuditEntry
from cohortvault.corrections import services
from cohortvault.corrections.services import CellEdit
from cohortvault.corrections.services.errorlog import COLUMNS
from cohortvault.datasets import services as datasets
from cohortvault.deliveries import services as deliveries
from cohortvault.errors import Conflict, Invalid, NotFound, PermissionDenied
from cohortvault.files import services as files
from cohortvault.governance.models import Notification
from cohortvault.tickets import services as tickets
from tests.deliveries.conftest import CODE, World

pytestmark = pytest.mark.django_db
FIX = [CellEdit("OSL-0002", "wave1", "mmse", "22")]


def _log(world: World) -> list[dict[str, Any]]:
    content = b"".join(files.read_file(world.outsider, "logs/error-log/error-log.json").chunks)
    loaded: list[dict[str, Any]] = json.loads(content)
    return loaded


def test_a_cell_correction_reaches_the_project_and_the_error_log(
    delivered: World, ticket: tickets.TicketInfo
) -> None:
    made = services.correct_cells(
        delivered.manager, ticket.number, edits=FIX, reason="Re-scored from the paper form."
    )
    assert (made.cells, made.variables, made.old_version, made.new_version) == (1, ["mmse"], 1, 2)
    version = datasets.version_info(delivered.manager, "oslo", "study", 2)
    assert version.ticket == ticket.number and version.reason == "Re-scored from the paper form."
    change = services.change_log(delivered.manager, made.id).changes.to_pylist()
    assert change == [
        {"subject_id": "OSL-0002", "timepoint": "wave1", "column": "mmse", "old": "25", "new": "22"}
    ]
    assert [(a.project, a.delivery, a.cells, a.pending) for a in made.affected] == [
        (CODE, 1, 1, True)
    ]
    told = Notification.objects.filter(user=delivered.member_user, text__icontains="ticket")
    assert any("corrected 1 value(s) of mmse" in n.text for n in told)
    assert all("OSL-0002" not in n.text for n in Notification.objects.all())
    resolved = tickets.get(delivered.member, ticket.number)
    assert resolved.state == "resolved" and resolved.resolved_at is not None
    assert [e.kind for e in resolved.events] == ["reported", "correction"]

    [line] = _log(delivered)
    assert line["projects_awaiting"] == [CODE] and line["values_corrected"] == 1
    again = services.redeliver(delivered.manager, made.id)
    assert [d.number for d in again] == [2]
    diff = deliveries.diff(delivered.member, CODE, 1, 2)
    assert diff.changes.to_pylist() == change
    [line] = _log(delivered)
    assert line["projects_redelivered"] == [f"{CODE} (002)"] and line["projects_awaiting"] == []
    assert list(line) == list(COLUMNS)  # no field for a value or a subject
    assert "OSL-0002" not in json.dumps(line) and not {"22", "25"} & {str(v) for v in line.values()}
    assert services.correction(delivered.manager, made.id).affected[0].redelivery == 2
    assert AuditEntry.objects.filter(action="corrections.redeliver").count() == 1


def test_only_a_data_manager_corrects(delivered: World, ticket: tickets.TicketInfo) -> None:
    with pytest.raises(PermissionDenied):
        services.correct_cells(delivered.member, ticket.number, edits=FIX, reason="mine")
    assert AuditEntry.objects.filter(action="access.approve", outcome="denied").exists()
    assert len(datasets.log(delivered.manager, "oslo", "study")) == 1
    with pytest.raises(NotFound):  # may not even see it
        services.correct_cells(delivered.outsider, ticket.number, edits=FIX, reason="x")


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (CellEdit("OSL-0002", "wave1", "mmse", "31"), "quality control"),
        (CellEdit("OSL-0002", "wave1", "mmse", "a lot"), "quality control"),
        (CellEdit("OSL-9999", "wave1", "mmse", "20"), "not in the latest version"),
        (CellEdit("OSL-0002", "wave1", "subject_id", "OSL-0003"), "cannot be made"),
        (CellEdit("OSL-0002", "wave1", "moca", "20"), "cannot be made"),
        (CellEdit("OSL-0002", "wave1", "mmse", "25"), "already hold"),
    ],
)
def test_bad_cell_edits_change_nothing(
    delivered: World, ticket: tickets.TicketInfo, edit: CellEdit, problem: str
) -> None:
    with pytest.raises(Invalid) as refused:
        services.correct_cells(delivered.manager, ticket.number, edits=[edit], reason="fix")
    assert problem in refused.value.message
    assert len(datasets.log(delivered.manager, "oslo", "study")) == 1
    assert tickets.get(delivered.manager, ticket.number).state == "open"
    assert AuditEntry.objects.filter(action="corrections.create", outcome="failed").exists()


def test_a_reason_is_required_and_closed_tickets_are_not_corrected(
    delivered: World, ticket: tickets.TicketInfo
) -> None:
    with pytest.raises(Invalid):
        services.correct_cells(delivered.manager, ticket.number, edits=FIX, reason=" ")
    tickets.change_state(delivered.manager, ticket.number, "wont_fix", reason="The form is wrong.")
    with pytest.raises(Conflict):
        services.correct_cells(delivered.manager, ticket.number, edits=FIX, reason="fix")


def test_a_corrected_file_goes_through_quality_control(
    delivered: World, ticket: tickets.TicketInfo, settings: Any
) -> None:
    settings.COHORTVAULT_QUALITY_CHECK_INTERVAL = 0
    bad = b"subject_id,timepoint,site,mmse\nOSL-0002,wave1,oslo,99\n"
    with pytest.raises(Invalid) as refused:
        services.correct_with_file(
            delivered.manager,
            ticket.number,
            filename="fix.csv",
            source=io.BytesIO(bad),
            size=len(bad),
            reason="Re-scored.",
        )
    assert any("mmse" in d for d in refused.value.details)
    assert len(datasets.log(delivered.manager, "oslo", "study")) == 1
    good = b"subject_id,timepoint,site,mmse\nOSL-0002,wave1,oslo,22\n"
    made = services.correct_with_file(
        delivered.manager,
        ticket.number,
        filename="fix.csv",
        source=io.BytesIO(good),
        size=len(good),
        reason="Re-scored.",
    )
    assert (made.kind, made.cells, made.new_version, made.import_id is not None) == (
        "file",
        1,
        2,
        True,
    )
    assert datasets.version_info(delivered.manager, "oslo", "study").ticket == ticket.number
    [delivery] = services.redeliver(delivered.manager, made.id)
    changes = deliveries.diff(delivered.member, CODE, 1, delivery.number).changes.to_pylist()
    assert changes == [
        {"subject_id": "OSL-0002", "timepoint": "wave1", "column": "mmse", "old": "25", "new": "22"}
    ]


def test_redelivery_can_happen_by_itself(
    delivered: World, ticket: tickets.TicketInfo, settings: Any
) -> None:
    settings.COHORTVAULT_REDELIVER_CORRECTIONS = True
    made = services.correct_cells(delivered.manager, ticket.number, edits=FIX, reason="fix")
    assert services.correction(delivered.manager, made.id).affected[0].redelivery == 2
    assert [d.number for d in deliveries.deliveries(delivered.member, CODE)] == [2, 1]


def test_a_correction_of_a_variable_the_project_did_not_get_reaches_nobody(
    delivered: World,
) -> None:
    other = tickets.report(
        delivered.member,
        site="oslo",
        study="study",
        variables=["hippocampus_ml"],
        title="Volume too small",
        description="Segmentation failed.",
    )
    edit = [CellEdit("OSL-0001", "wave1", "hippocampus_ml", "3.4")]
    made = services.correct_cells(delivered.manager, other.number, edits=edit, reason="re-run")
    assert made.affected == [] and made.cells == 1
    assert services.redeliver(delivered.manager, made.id) == []
