"""``cohortvault projects …`` against a live server, run as the real console script with each
person's token, and ``projects enforce`` on the server's instance."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from django.conf import settings
from django.utils import timezone

from cohortvault.access.policy import Role
from cohortvault.cli import main
from cohortvault.config import CONFIG_FILE_NAME
from cohortvault.consortium.models import Project, Site
from cohortvault.projects import services
from cohortvault.projects.models import Agreement
from tests import factories
from tests.files.test_cli_client import Shell, person, server, shell, token_for  # noqa: F401
from tests.projects.conftest import PDF, proposal_input


def test_proposal_to_agreements_from_the_command_line(
    server: str,  # noqa: F811
    shell: Shell,  # noqa: F811
    tmp_path: Path,
    request: Any,
) -> None:
    request.getfixturevalue("consortium")  # dictionary, sites and datasets, on the live database
    author = person("oslo-researcher", Role.SITE_MEMBER, site=Site.objects.get(code="oslo"))
    for name in ("pi-ola", "berlin-jonas"):
        factories.make_user(name)
    approver = person("approver-olav", Role.APPROVER)
    manager = person("dm-anna", Role.DATA_MANAGER)
    as_ = {
        who.username: {
            "COHORTVAULT_SERVER": server,
            "COHORTVAULT_TOKEN": token_for(server, who)["token"],
        }
        for who in (author, approver, manager)
    }
    draft = services.create_proposal(factories.principal(author.user), proposal_input())

    listed = shell.run("projects", "list", "--view", "mine", "--json", **as_["oslo-researcher"])
    assert listed.returncode == 0, listed.stderr
    assert [p["code"] for p in json.loads(listed.stdout)] == ["amyloid"]
    submitted = shell.run("projects", "submit", str(draft.pk), **as_["oslo-researcher"])
    assert submitted.returncode == 0 and "submitted proposal" in submitted.stdout
    shown = shell.run("projects", "show", str(draft.pk), **as_["approver-olav"])
    assert "berlin       fewer than 5" in shown.stdout and "oslo         6" in shown.stdout

    today = timezone.localdate().isoformat()
    decide = ["projects", "decide", str(draft.pk), "--outcome", "approved", "--meeting-date", today]
    own = shell.run(*decide, "--reference", "GA-1", **as_["oslo-researcher"])
    assert own.returncode == 4 and "Error:" in own.stderr
    vague = shell.run(*decide, "--reference", " ", **as_["approver-olav"])
    assert vague.returncode == 6 and "Give the reference of the decision" in vague.stderr
    decided = shell.run(*decide, "--reference", "GA-1", **as_["approver-olav"])
    assert decided.returncode == 0, decided.stderr
    assert "project amyloid created" in decided.stdout

    blocked = shell.run("projects", "agreements", "amyloid", **as_["oslo-researcher"])
    assert "blocked: The agreement with site oslo is pending, not signed." in blocked.stdout
    pdf = tmp_path / "oslo-dta.pdf"
    pdf.write_bytes(PDF)
    agreement = ["projects", "agreement-set", "amyloid", "--status", "signed", "--signed", today]
    refused = shell.run(*agreement[:3], "oslo", *agreement[3:], **as_["oslo-researcher"])
    assert refused.returncode == 4
    expires = (timezone.localdate() + timedelta(days=30)).isoformat()
    for site, extra in (("oslo", ["--document", str(pdf)]), ("berlin", [])):
        done = shell.run(
            *agreement[:3], site, *agreement[3:], "--expires", expires, *extra, **as_["dm-anna"]
        )
        assert done.returncode == 0, done.stderr
        assert (f"stored oslo-dta.pdf ({len(PDF)} bytes" in done.stdout) is (site == "oslo")
    ready = shell.run("projects", "agreements", "amyloid", "--json", **as_["dm-anna"])
    project = json.loads(ready.stdout)
    assert project["blockers"] == [] and [len(a["documents"]) for a in project["agreements"]] == [
        0,
        1,
    ]

    Agreement.objects.filter(site__code="berlin").update(
        expires_on=timezone.localdate() - timedelta(days=1)
    )
    (Path(settings.DATA_DIR) / CONFIG_FILE_NAME).touch()  # the test instance's data directory
    enforced = CliRunner().invoke(main, ["projects", "enforce", "--data-dir", settings.DATA_DIR])
    assert enforced.exit_code == 0, enforced.output
    assert "Project amyloid closed: The transfer agreement with site berlin" in enforced.output
    assert Project.objects.get(code="amyloid").status == "closed"
