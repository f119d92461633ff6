"""``cohortvault deliveries …`` against a live server, as the data manager and a member."""

from __future__ import annotations

import json
from pathlib import Path

from cohortvault.access.policy import Role
from tests import factories
from tests.deliveries.conftest import CODE, World, new_oslo_version
from tests.files.test_cli_client import Shell, person, server, shell, token_for  # noqa: F401


def test_run_list_show_and_diff_from_the_command_line(
    world: World,
    server: str,  # noqa: F811
    shell: Shell,  # noqa: F811
    tmp_path: Path,
) -> None:
    world.sign("oslo", "berlin")
    manager = person("dm-cli", Role.DATA_MANAGER)
    device = factories.enrol_totp(world.member_user)
    member = type(manager)(world.member_user, device)
    as_manager = {
        "COHORTVAULT_SERVER": server,
        "COHORTVAULT_TOKEN": token_for(server, manager)["token"],
    }
    as_member = {
        "COHORTVAULT_SERVER": server,
        "COHORTVAULT_TOKEN": token_for(server, member)["token"],
    }

    refused = shell.run("deliveries", "run", CODE, **as_member)
    assert refused.returncode == 4
    first = shell.run("deliveries", "run", CODE, "--note", "first", **as_manager)
    assert first.returncode == 0, first.stderr
    assert "delivery 001: 3 rows" in first.stdout
    new_oslo_version(world, {"0001": 29, "0002": 22})
    transforms = tmp_path / "t.json"
    transforms.write_text(
        json.dumps([{"kind": "zscore", "variable": "mmse", "within": "pooled", "output": "mmse_z"}])
    )
    second = shell.run("deliveries", "run", CODE, "--transforms", str(transforms), **as_manager)
    assert second.returncode == 0, second.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('[{"kind": "zscore", "variable": "sex", "within": "site"}]')
    assert (
        shell.run("deliveries", "run", CODE, "--transforms", str(bad), **as_manager).returncode == 6
    )

    listed = json.loads(shell.run("deliveries", "list", CODE, "--json", **as_member).stdout)
    assert [d["number"] for d in listed] == [2, 1]
    shown = shell.run("deliveries", "show", CODE, "1", **as_member).stdout
    assert "datapackage.json" in shown and "source oslo/study version 1" in shown
    diff = shell.run("deliveries", "diff", CODE, "1", "2", **as_member)
    assert "OSL-0002" in diff.stdout and "mmse: 25 → 22" in diff.stdout
    lines = shell.run("deliveries", "diff", CODE, "1", "2", "--format", "csv", **as_member)
    assert lines.stdout.splitlines()[0].startswith('"kind","subject_id"')
