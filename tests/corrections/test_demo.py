"""The demo shows a resolved ticket whose correction reached a project, an open ticket, the
error log, and a consent withdrawal awaiting its erasure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test.utils import override_settings

from cohortvault.consortium.services import principal_for_user
from cohortvault.corrections import services as corrections
from cohortvault.deliveries import services as deliveries
from cohortvault.demo.build import build
from cohortvault.errors import NotFound
from cohortvault.identity.models import User
from cohortvault.tickets import services as tickets

pytestmark = pytest.mark.django_db


def _as(username: str) -> Any:
    return principal_for_user(User.objects.get(username=username))


@override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend")
def test_demo_tickets_corrections_and_withdrawal(tmp_path: Path) -> None:
    build(tmp_path)
    mette, manager = _as("aarhus-mette"), _as("dm-anna")
    resolved, still_open = sorted(tickets.list_tickets(manager), key=lambda t: t.number)
    assert (resolved.state, still_open.state) == ("resolved", "open")
    [correction] = corrections.corrections(mette, ticket=resolved.number)
    reached = [a for a in correction.affected if a.latest]
    assert [(a.project, a.delivery, a.redelivery) for a in reached] == [("amyloid-cognition", 2, 3)]
    diff = deliveries.diff(mette, "amyloid-cognition", 2, 3)
    assert diff.changes.num_rows == 1 and diff.changes["column"][0].as_py() == "moca"
    assert [r.ticket for r in corrections.error_log(_as("guest-nora"))] == [resolved.number]
    with pytest.raises(NotFound):  # not hers to see
        tickets.get(_as("madrid-lucia"), still_open.number)
    [withdrawal] = corrections.withdrawals(manager)
    assert withdrawal.site == "madrid" and withdrawal.erased_at is None
