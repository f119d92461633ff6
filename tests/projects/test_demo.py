"""The demo's proposals: one ready for extraction, one blocked by a missing agreement, one
rejected, one draft; built on the demo consortium as the lead's ``demo.build`` will."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test.utils import override_settings

from cohortvault.consortium.models import Project
from cohortvault.consortium.services import principal_for_user
from cohortvault.demo.build import build
from cohortvault.identity.models import User
from cohortvault.projects import services
from cohortvault.projects.models import Proposal

pytestmark = pytest.mark.django_db


@override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend")
def test_demo_proposals_at_every_stage(tmp_path: Path, settings: Any) -> None:
    build(tmp_path)  # it calls demo.projects.populate()
    counts: dict[str, int] = {}
    for state in Proposal.objects.values_list("state", flat=True):
        counts[state] = counts.get(state, 0) + 1
    assert counts == {"approved": 2, "rejected": 1, "draft": 1}
    assert services.extraction_blockers("amyloid-cognition") == []
    assert services.extraction_blockers("hippocampal-ageing") == [
        "The agreement with site berlin is pending, not signed."
    ]
    assert not Project.objects.filter(code="social-media-use").exists()
    kari = principal_for_user(User.objects.get(username="oslo-kari"))
    assert "amyloid-cognition" in kari.projects
    ingrid = principal_for_user(User.objects.get(username="multi-ingrid"))
    assert "hippocampal-ageing" not in ingrid.projects  # awaits the administrator
    amyloid = Project.objects.get(code="amyloid-cognition").proposal
    counted = services.availability(kari, amyloid.pk)
    assert [(row.site, bool(row.count)) for row in counted] == [("aarhus", True), ("oslo", True)]
