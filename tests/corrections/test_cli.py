"""``cohortvault corrections …`` against a live server: the data manager corrects a ticket's
data by cell edits or a corrected file, refused edits change nothing, the site reads the change
log, the project is re-delivered, a consent withdrawal is recorded, and anyone reads the error
log."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cohortvault.access.policy import Role
from cohortvault.consortium.models import Site
from cohortvault.corrections.models import Correction, Withdrawal
from cohortvault.datasets import services as datasets
from cohortvault.deliveries.models import Delivery
from cohortvault.imports.models import Import
from cohortvault.tickets import services as tickets
from cohortvault.tickets.models import Ticket
from tests import factories
from tests.deliveries.conftest import CODE, World
from tests.files.test_cli_client import (  # noqa: F401
    Person,
    Shell,
    person,
    server,
    shell,
    token_for,
)


@dataclass
class Team:
    """``cohortvault corrections …`` as the data manager (``manager``), the ticket's reporter
    (``member``, of the project), a member of the ticket's site (``oslo``) and one of another
    site (``berlin``)."""

    shell: Shell
    envs: dict[str, dict[str, str]]

    def run(self, who: str, *args: str) -> subprocess.CompletedProcess[str]:
        return self.shell.run("corrections", *args, **self.envs[who])

    def json(self, who: str, *args: str) -> Any:
        result = self.run(who, *args, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


def login(server: str, someone: Person) -> dict[str, str]:  # noqa: F811
    return {"COHORTVAULT_SERVER": server, "COHORTVAULT_TOKEN": token_for(server, someone)["token"]}


@pytest.fixture
def team(delivered: World, server: str, shell: Shell) -> Team:  # noqa: F811
    member = Person(delivered.member_user, factories.enrol_totp(delivered.member_user))
    oslo, berlin = Site.objects.get(code="oslo"), Site.objects.get(code="berlin")
    envs = {
        "manager": login(server, person("dm-cli", Role.DATA_MANAGER)),
        "member": login(server, member),
        "oslo": login(server, person("oslo1", Role.SITE_MEMBER, site=oslo)),
        "berlin": login(server, person("berlin1", Role.SITE_MEMBER, site=berlin)),
    }
    return Team(shell, envs)


def mmse(world: World, version: int) -> dict[str, str]:
    table = datasets.read_version(world.manager, "oslo", "study", version)
    return {
        r["subject_id"]: str(r["mmse"]) for r in table.select(["subject_id", "mmse"]).to_pylist()
    }


def versions(world: World) -> int:
    return len(datasets.log(world.manager, "oslo", "study"))


def test_cell_edits_change_log_redelivery_and_error_log(
    delivered: World, ticket: tickets.TicketInfo, team: Team
) -> None:
    number = str(ticket.number)
    why = "Transcription error; the paper form says 22."

    def correct(who: str, *edits: str) -> subprocess.CompletedProcess[str]:
        flags = [flag for edit in edits for flag in ("--edit", edit)]
        return team.run(who, "correct", number, *flags, "--reason", why)

    out_of_range = correct("manager", "OSL-0002,wave1,mmse,45")
    assert out_of_range.returncode == 6
    assert "nothing was changed" in out_of_range.stderr
    assert "\n  mmse: " in out_of_range.stderr  # the problem, on a line of its own
    no_row = correct("manager", "OSL-0001,wave1,mmse,28", "OSL-0009,wave1,mmse,22")
    assert no_row.returncode == 6 and "\n  no row for OSL-0009 at wave1" in no_row.stderr
    assert correct("manager", "OSL-0002,mmse,22").returncode == 2
    assert correct("member", "OSL-0002,wave1,mmse,22").returncode == 4
    assert correct("oslo", "OSL-0002,wave1,mmse,22").returncode == 4
    assert versions(delivered) == 1 and not Correction.objects.exists()
    assert Ticket.objects.get(pk=ticket.number).state == "open"

    made = correct("manager", "OSL-0002,wave1,mmse,22")
    assert made.returncode == 0, made.stderr
    [correction] = Correction.objects.all()
    assert made.stdout.splitlines() == [
        f"correction {correction.pk}: 1 value(s) of mmse in oslo/study version 1 → 2; "
        f"ticket {number} is resolved",
        f"  project {CODE} delivery 001: 1 cell(s) of mmse, waits for re-delivery",
    ]
    assert mmse(delivered, 2) == {"OSL-0001": "29", "OSL-0002": "22"}
    assert Ticket.objects.get(pk=ticket.number).state == "resolved"

    ident = str(correction.pk)
    lines = team.run("oslo", "changes", ident, "--format", "csv")
    assert lines.returncode == 0, lines.stderr
    rows = list(csv.DictReader(io.StringIO(lines.stdout)))
    assert [(r["kind"], r["subject_id"], r["column"], r["old"], r["new"]) for r in rows] == [
        ("changed", "OSL-0002", "mmse", "25", "22")
    ]
    text = team.run("oslo", "changes", ident).stdout.splitlines()
    assert text == ["oslo/study version 1 → 2: 1 cell(s) changed", "~ OSL-0002 wave1 mmse: 25 → 22"]
    assert team.run("berlin", "changes", ident).returncode == 3

    listed = team.json("oslo", "list", "--ticket", number)
    assert [(c["id"], c["cells"], c["reason"]) for c in listed] == [(correction.pk, 1, why)]
    assert team.json("berlin", "list") == []
    shown = team.run("oslo", "show", ident).stdout
    assert f"\nreason   {why}\n" in shown and "\ndeliveries reached:\n" in shown

    assert [c["id"] for c in team.json("manager", "pending")] == [correction.pk]
    assert team.run("member", "pending").returncode == 4
    assert team.run("member", "redeliver", ident).returncode == 4
    redelivered = team.run("manager", "redeliver", ident)
    assert redelivered.returncode == 0, redelivered.stderr
    folder = Delivery.objects.get(project__code=CODE, number=2).folder
    assert redelivered.stdout == f"project {CODE}: delivery 002 in {folder}/\n"
    assert team.json("manager", "pending") == []
    again = team.run("manager", "redeliver", ident)
    assert again.stdout == f"no project waits for correction {ident}\n"
    assert Delivery.objects.filter(project__code=CODE).count() == 2

    logged = team.run("berlin", "error-log", "--format", "csv")
    assert logged.returncode == 0, logged.stderr
    [row] = list(csv.DictReader(io.StringIO(logged.stdout)))
    assert (row["ticket"], row["variables"], row["values_corrected"]) == (number, "mmse", "1")
    assert (row["projects_redelivered"], row["projects_awaiting"]) == (f"{CODE} (002)", "")
    as_text = team.run("member", "error-log").stdout
    assert as_text.startswith(f"ticket {number:>4}  oslo/study  [mmse]  resolved, 1 value(s)")
    assert as_text.endswith(f"; re-delivered: {CODE} (002)\n")
    as_json = json.loads(team.run("member", "error-log", "--format", "json").stdout)
    assert [r["ticket"] for r in as_json] == [ticket.number]
    for published in (logged.stdout, as_text, json.dumps(as_json)):
        assert "OSL-" not in published


def test_cell_edits_from_a_csv_file(
    delivered: World, ticket: tickets.TicketInfo, team: Team, tmp_path: Path
) -> None:
    edits = tmp_path / "edits.csv"
    edits.write_text(
        "subject_id,timepoint,variable,value\nOSL-0001,wave1,mmse,28\nOSL-0002,wave1,mmse,22\n"
    )
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("subject,timepoint,variable,value\nOSL-0001,wave1,mmse,28\n")
    number, why = str(ticket.number), ["--reason", "Re-scored from the forms."]

    bad = team.run("manager", "correct", number, "--edits-file", str(wrong), *why)
    assert bad.returncode == 6
    assert "the header must be subject_id,timepoint,variable,value" in bad.stderr
    assert team.run("manager", "correct", number, *why).returncode == 2
    assert versions(delivered) == 1

    made = team.json("manager", "correct", number, "--edits-file", str(edits), *why)
    assert (made["kind"], made["cells"], made["new_version"]) == ("cells", 2, 2)
    assert mmse(delivered, 2) == {"OSL-0001": "28", "OSL-0002": "22"}
    # the same cells again already hold those values: refused, nothing changed
    same = team.run("manager", "correct", number, "--edits-file", str(edits), *why)
    assert same.returncode == 6 and "already hold the value" in same.stderr
    assert versions(delivered) == 2 and Correction.objects.count() == 1


def test_a_corrected_file(
    delivered: World, ticket: tickets.TicketInfo, team: Team, tmp_path: Path
) -> None:
    number = str(ticket.number)
    wrong = tmp_path / "wave1-wrong.csv"
    wrong.write_text("subject_id,timepoint,site,mmse\nOSL-0002,wave1,oslo,45\n")
    refused = team.run("manager", "correct-file", number, str(wrong), "--reason", "Re-scored")
    assert refused.returncode == 6 and "has errors" in refused.stderr
    assert versions(delivered) == 1 and not Correction.objects.exists()
    assert Import.objects.get().state == "rejected"
    by_member = team.run("member", "correct-file", number, str(wrong), "--reason", "x")
    assert by_member.returncode == 4

    fixed = tmp_path / "wave1-fixed.csv"
    fixed.write_text("subject_id,timepoint,site,mmse\nOSL-0002,wave1,oslo,22\n")
    made = team.run("manager", "correct-file", number, str(fixed), "--reason", "Re-scored")
    assert made.returncode == 0, made.stderr
    correction = Correction.objects.get()
    accepted = Import.objects.get(state="accepted")
    assert (correction.kind, correction.cells, correction.import_id) == ("file", 1, accepted.pk)
    assert accepted.filename == f"ticket-{number}-wave1-fixed.csv"
    assert made.stdout.startswith(
        f"correction {correction.pk}: 1 value(s) of mmse in oslo/study version 1 → 2; "
    )
    assert mmse(delivered, 2) == {"OSL-0001": "29", "OSL-0002": "22"}
    shown = team.json("oslo", "show", str(correction.pk))
    assert (shown["ticket"], shown["import_id"], shown["reason"]) == (
        ticket.number,
        accepted.pk,
        "Re-scored",
    )


def test_withdraw_and_list_withdrawals(delivered: World, team: Team) -> None:
    withdraw = ["withdraw", "--site", "oslo", "--subject-id", "OSL-0002"]
    why = "Letter of 2026-12-01."
    assert team.run("member", *withdraw, "--reason", why).returncode == 4
    assert team.run("oslo", *withdraw, "--reason", why).returncode == 4
    assert not Withdrawal.objects.exists()

    made = team.run("manager", *withdraw, "--reason", why)
    assert made.returncode == 0, made.stderr
    [withdrawal] = Withdrawal.objects.all()
    removed = Correction.objects.get(withdrawal=withdrawal)
    said = made.stdout.splitlines()
    assert said[0].startswith(f"withdrawal {withdrawal.pk}: OSL-0002 at oslo, recorded ")
    assert "; earlier copies erased after " in said[0]
    assert said[1:] == [
        f"  reason: {why}",
        f"  correction {removed.pk}: 1 row(s) removed in oslo/study version 1 → 2",
    ]
    assert set(mmse(delivered, 2)) == {"OSL-0001"}
    assert team.run("manager", *withdraw).returncode == 5

    listed = team.json("manager", "withdrawals")
    assert [(w["id"], w["subject_id"], w["reason"]) for w in listed] == [
        (withdrawal.pk, "OSL-0002", why)
    ]
    assert team.run("manager", "withdrawals", str(withdrawal.pk)).stdout == made.stdout
    assert team.json("oslo", "withdrawals") == []
    assert team.run("oslo", "withdrawals", str(withdrawal.pk)).returncode == 3
    # a withdrawal's correction points at a participant: the data manager's alone
    assert [c["kind"] for c in team.json("manager", "list")] == ["withdrawal"]
    assert team.json("oslo", "list") == []
