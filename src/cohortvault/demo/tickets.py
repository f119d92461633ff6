"""Demo tickets and corrections, after the deliveries exist:

- ticket 1 (resolved): aarhus-mette, a member of ``amyloid-cognition``, reports an implausible
  MoCA score she saw in delivery 002; dm-anna triages it, corrects the cell, and re-delivers:
  delivery 003, whose diff with 002 is that one cell; the error log in ``logs/error-log/``
  shows it, without the value or the subject;
- ticket 2 (open): uppsala-lars reports suspicious hippocampal volumes; dm-anna has asked the
  imaging team;
- a consent withdrawal at Madrid, whose participant's rows go at once from Madrid's dataset and
  from every copy once the retention period has passed.
"""

from __future__ import annotations

import pyarrow.compute as pc
from django.contrib.auth import get_user_model

from cohortvault.access.policy import Principal
from cohortvault.consortium.services import principal_for_user
from cohortvault.corrections import services as corrections
from cohortvault.datasets import services as datasets
from cohortvault.tickets import services as tickets

PROJECT = "amyloid-cognition"


def _principal(username: str) -> Principal:
    return principal_for_user(get_user_model().objects.get(username=username))


def _current(manager: Principal, site: str, study: str, subject: str, when: str, name: str) -> str:
    table = datasets.read_version(
        manager, site, study, datasets.version_info(manager, site, study).number
    )
    chosen = table.filter(
        pc.and_(pc.equal(table["subject_id"], subject), pc.equal(table["timepoint"], when))
    )
    value = chosen[name][0].as_py() if chosen.num_rows else None
    return "" if value is None else str(value)


def populate(data_manager: str = "dm-anna") -> dict[str, int]:
    manager = _principal(data_manager)
    reported = tickets.report(
        _principal("aarhus-mette"),
        site="aarhus",
        study="dmc",
        variables=["moca"],
        subject_id="AAR-0003",
        timepoint="visit1",
        title="MoCA at visit 1 does not match the scoring sheet",
        description=(
            "In delivery 002 of amyloid-cognition, AAR-0003 has a MoCA score at visit 1 that "
            "differs from the signed scoring sheet (attached in our site's records)."
        ),
        found_in=f"delivery {PROJECT}/002",
    )
    tickets.change_state(manager, reported.number, "triaged", reason="Checked against the sheet.")
    old = _current(manager, "aarhus", "dmc", "AAR-0003", "visit1", "moca")
    new = "24" if old != "24" else "25"
    made = corrections.correct_cells(
        manager,
        reported.number,
        edits=[corrections.CellEdit("AAR-0003", "visit1", "moca", new)],
        reason="Transcription error: the scoring sheet says " + new + ".",
    )
    corrections.redeliver(manager, made.id)

    pending = tickets.report(
        _principal("uppsala-lars"),
        site="uppsala",
        study="uls",
        variables=["hippocampus_left_ml", "hippocampus_right_ml"],
        timepoint="baseline",
        title="Some hippocampal volumes look too small",
        description="Several baseline volumes are under 2 ml; segmentation may have failed.",
    )
    tickets.comment(
        manager, pending.number, "Asked the Uppsala imaging team to re-check the segmentations."
    )
    corrections.withdraw_consent(
        manager,
        site="madrid",
        subject_id="MAD-0007",
        reason="The participant withdrew consent by letter.",
    )
    return {"tickets": 2, "corrections": len(corrections.corrections(manager))}
