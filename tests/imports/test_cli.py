"""``cohortvault imports …`` against a live server, after ``cohortvault files put`` into an
import area, exactly as a site member and the data manager would run them in a shell."""

from __future__ import annotations

import json
from pathlib import Path

from cohortvault.access.policy import Role
from cohortvault.catalog import services as catalog
from cohortvault.imports.models import Import
from tests import factories
from tests.files.test_cli_client import Shell, person, server, shell, token_for  # noqa: F401
from tests.imports.conftest import CLEAN, SCHEMA


def test_upload_report_accept_and_reject_from_the_command_line(
    server: str,  # noqa: F811
    shell: Shell,  # noqa: F811
    tmp_path: Path,
) -> None:
    site = factories.make_site("oslo")
    member = person("oslo1", Role.SITE_MEMBER, site=site)
    manager = person("dm1", Role.DATA_MANAGER)
    catalog.import_dictionary(
        factories.principal(manager.user), json.dumps(SCHEMA).encode(), format="json"
    )
    as_member = {
        "COHORTVAULT_SERVER": server,
        "COHORTVAULT_TOKEN": token_for(server, member)["token"],
    }
    as_manager = {
        "COHORTVAULT_SERVER": server,
        "COHORTVAULT_TOKEN": token_for(server, manager)["token"],
    }

    good, bad = tmp_path / "visit.csv", tmp_path / "scores.csv"
    good.write_text(CLEAN)
    bad.write_text(CLEAN.replace(",27,", ",45,"))
    for local in (good, bad):
        stored = shell.run("files", "put", str(local), "sites/oslo/import/study/", **as_member)
        assert stored.returncode == 0, stored.stderr
    good_id, bad_id = (Import.objects.get(filename=n).pk for n in ("visit.csv", "scores.csv"))

    listed = shell.run("imports", "list", "--json", **as_member)
    assert {i["filename"] for i in json.loads(listed.stdout)} == {"visit.csv", "scores.csv"}
    text = shell.run("imports", "report", str(bad_id), **as_member)
    assert text.returncode == 1  # errors: it cannot be accepted
    assert "range [mmse] 1 row(s) e.g. 45" in text.stdout
    findings = shell.run("imports", "report", str(bad_id), "--format", "csv", **as_member)
    assert findings.stdout.splitlines()[0].startswith("severity,check,column")
    assert shell.run("imports", "report", str(good_id), "--wait", **as_member).returncode == 0

    refused = shell.run("imports", "accept", str(good_id), **as_member)
    assert refused.returncode == 4 and "Error:" in refused.stderr
    conflict = shell.run("imports", "accept", str(bad_id), **as_manager)
    assert conflict.returncode == 5
    accepted = shell.run("imports", "accept", str(good_id), **as_manager)
    assert accepted.returncode == 0, accepted.stderr
    assert "oslo/study version 1" in accepted.stdout
    rejected = shell.run("imports", "reject", str(bad_id), "--reason", "MMSE 45", **as_manager)
    assert rejected.returncode == 0, rejected.stderr
    shown = shell.run("imports", "show", str(bad_id), **as_member)
    assert "reason:    MMSE 45" in shown.stdout
