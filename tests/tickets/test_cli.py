"""``cohortvault tickets …`` against a live server: a project member reports and follows a
ticket, a member of another site cannot see it, and only a data manager moves it on."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cohortvault.access.policy import Role
from cohortvault.consortium.models import Site
from cohortvault.tickets.models import Ticket
from tests import factories
from tests.deliveries.conftest import World
from tests.deliveries.conftest import world as world
from tests.files.test_cli_client import (  # noqa: F401
    Person,
    Shell,
    person,
    server,
    shell,
    token_for,
)


def login(server: str, someone: Person) -> dict[str, str]:  # noqa: F811
    return {"COHORTVAULT_SERVER": server, "COHORTVAULT_TOKEN": token_for(server, someone)["token"]}


def reporter(world: World) -> Person:
    return Person(world.member_user, factories.enrol_totp(world.member_user))


def report(shell: Shell, env: dict[str, str], *extra: str) -> tuple[int, str]:  # noqa: F811
    """Report the MMSE ticket; its number and what the command said."""
    reported = shell.run(
        "tickets",
        "report",
        "--site",
        "oslo",
        "--study",
        "study",
        "--variable",
        "mmse",
        "--title",
        "MMSE of OSL-0002 looks wrong",
        "--description",
        "25 at wave1 but the paper form says 22.\nSee the scan.",
        "--subject-id",
        "OSL-0002",
        "--timepoint",
        "wave1",
        *extra,
        **env,
    )
    assert reported.returncode == 0, reported.stderr
    found = re.search(
        r"^reported ticket (\d+): MMSE of OSL-0002 looks wrong$", reported.stdout, re.M
    )
    assert found, reported.stdout
    return int(found.group(1)), reported.stdout


def test_report_with_an_attachment_then_list_show_comment_and_download(
    world: World,
    server: str,  # noqa: F811
    shell: Shell,  # noqa: F811
    tmp_path: Path,
) -> None:
    member = login(server, reporter(world))
    scan = tmp_path / "form scan.pdf"
    scan.write_bytes(b"%PDF-1.4 the paper form\x00\x01" * 100)

    number, said = report(shell, member, "--attach", str(scan))
    assert said.splitlines()[1] == "  attached form scan.pdf (2.4 KiB)"
    stored = Ticket.objects.get(pk=number)
    assert (stored.state, stored.subject_id, stored.variables) == ("open", "OSL-0002", ["mmse"])
    assert [a.name for a in stored.attachments.all()] == ["form scan.pdf"]

    listed = shell.run("tickets", "list", **member)
    assert listed.returncode == 0, listed.stderr
    assert re.search(
        rf"^\s*{number}\s+open\s+oslo/study\s+\[mmse\]\s+MMSE of OSL-0002", listed.stdout, re.M
    )
    mine = json.loads(shell.run("tickets", "list", "--mine", "--json", **member).stdout)
    assert [t["number"] for t in mine] == [number]
    closed = shell.run("tickets", "list", "--state", "closed", "--json", **member)
    assert json.loads(closed.stdout) == []

    commented = shell.run(
        "tickets", "comment", str(number), "Scan attached.\nPage 2\x1b[2J.", **member
    )
    assert commented.returncode == 0, commented.stderr
    assert commented.stdout == f"commented on ticket {number}\n"

    shown = shell.run("tickets", "show", str(number), **member)
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert text.startswith(f"ticket {number}: MMSE of OSL-0002 looks wrong\n")
    assert "state      open" in text and "subject    OSL-0002" in text
    assert "  25 at wave1 but the paper form says 22.\n  See the scan.\n" in text
    history = text.split("history:\n", 1)[1].split("\nattachments:", 1)[0]
    assert [line.split()[3].rstrip(":") for line in history.splitlines() if line.strip()] == [
        "reported",
        "attachment",
        "comment",
    ]
    # the comment's line break is shown escaped, on the comment's own line
    assert "comment: Scan attached.\\nPage 2[2J." in history
    assert "\x1b" not in text

    item = json.loads(shell.run("tickets", "show", str(number), "--json", **member).stdout)
    [attachment] = item["attachments"]
    assert (attachment["name"], attachment["size"]) == ("form scan.pdf", scan.stat().st_size)
    assert [e["kind"] for e in item["events"]] == ["reported", "attachment", "comment"]

    into = tmp_path / "downloads"
    into.mkdir()
    fetched = shell.run(
        "tickets", "download", str(number), str(attachment["id"]), "-o", str(into), **member
    )
    assert fetched.returncode == 0, fetched.stderr
    assert (into / "form scan.pdf").read_bytes() == scan.read_bytes()
    here = shell.run("tickets", "download", str(number), str(attachment["id"]), **member)
    assert here.returncode == 0, here.stderr
    assert (shell.cwd / "form scan.pdf").read_bytes() == scan.read_bytes()
    missing = shell.run("tickets", "download", str(number), "999999", **member)
    assert missing.returncode == 3
    assert list(shell.cwd.iterdir()) == [shell.cwd / "form scan.pdf"]

    second = tmp_path / "notes.txt"
    second.write_text("notes")
    attached = shell.run("tickets", "attach", str(number), str(second), "--json", **member)
    assert attached.returncode == 0, attached.stderr
    assert json.loads(attached.stdout)["name"] == "notes.txt"
    assert stored.attachments.count() == 2


def test_a_member_of_another_site_cannot_see_the_ticket(
    world: World,
    server: str,  # noqa: F811
    shell: Shell,  # noqa: F811
) -> None:
    number, _ = report(shell, login(server, reporter(world)))
    berlin = login(
        server, person("berlin1", Role.SITE_MEMBER, site=Site.objects.get(code="berlin"))
    )
    assert shell.run("tickets", "show", str(number), **berlin).returncode == 3
    assert shell.run("tickets", "comment", str(number), "hello", **berlin).returncode == 3
    assert json.loads(shell.run("tickets", "list", "--json", **berlin).stdout) == []
    oslo = login(server, person("oslo1", Role.SITE_MEMBER, site=Site.objects.get(code="oslo")))
    assert (
        json.loads(shell.run("tickets", "show", str(number), "--json", **oslo).stdout)["number"]
        == number
    )


def test_only_a_data_manager_changes_the_state(
    world: World,
    server: str,  # noqa: F811
    shell: Shell,  # noqa: F811
) -> None:
    member = login(server, reporter(world))
    manager = login(server, person("dm-cli", Role.DATA_MANAGER))
    number, _ = report(shell, member)
    other, _ = report(shell, member)

    refused = shell.run("tickets", "state", str(number), "triaged", **member)
    assert refused.returncode == 4
    assert refused.stderr.startswith("Error: ")
    assert Ticket.objects.get(pk=number).state == "open"

    triaged = shell.run("tickets", "state", str(number), "triaged", **manager)
    assert triaged.returncode == 0, triaged.stderr
    assert triaged.stdout == f"ticket {number} is now triaged\n"
    again = shell.run("tickets", "state", str(number), "triaged", **manager)
    assert again.returncode == 5
    no_reason = shell.run("tickets", "state", str(number), "wont_fix", **manager)
    assert no_reason.returncode == 6 and "reason" in no_reason.stderr
    assert shell.run("tickets", "state", str(number), "bogus", **manager).returncode == 2
    assert Ticket.objects.get(pk=number).state == "triaged"

    duplicate = shell.run(
        "tickets", "state", str(other), "duplicate", "--duplicate-of", str(number), **manager
    )
    assert duplicate.returncode == 0, duplicate.stderr
    closed = json.loads(
        shell.run("tickets", "list", "--state", "closed", "--json", **member).stdout
    )
    assert [(t["number"], t["duplicate_of"]) for t in closed] == [(other, number)]
    history = json.loads(shell.run("tickets", "show", str(number), "--json", **member).stdout)
    assert [(e["kind"], e["old_state"], e["new_state"]) for e in history["events"]] == [
        ("reported", "", "open"),
        ("state", "open", "triaged"),
    ]


def test_a_report_naming_no_variable_of_the_dictionary_is_refused(
    world: World,
    server: str,  # noqa: F811
    shell: Shell,  # noqa: F811
) -> None:
    member = login(server, reporter(world))
    required = ["--site", "oslo", "--study", "study", "--title", "t", "--description", "d"]
    refused = shell.run(
        "tickets", "report", *required, "--variable", "mmse", "--variable", "iq", **member
    )
    assert refused.returncode == 6
    assert refused.stderr.startswith("Error: Some variables are not in the data dictionary.")
    assert "\n  iq: not a variable of the dictionary\n" in refused.stderr
    assert shell.run("tickets", "report", *required, **member).returncode == 2
    assert not Ticket.objects.exists()
