"""The deliveries' world (an approved project over Oslo and Berlin with accepted versions and
signed agreements), with a ticket about Oslo's MMSE scores and a first delivery."""

from __future__ import annotations

import pytest

from cohortvault.deliveries import services as deliveries
from cohortvault.tickets import services as tickets
from tests.deliveries.conftest import CODE, World
from tests.deliveries.conftest import world as world


@pytest.fixture
def delivered(world: World) -> World:
    world.sign("oslo", "berlin")
    deliveries.run_extraction(world.manager, CODE, note="first")
    return world


@pytest.fixture
def ticket(delivered: World) -> tickets.TicketInfo:
    return tickets.report(
        delivered.member,
        site="oslo",
        study="study",
        variables=["mmse"],
        subject_id="OSL-0002",
        timepoint="wave1",
        title="MMSE of OSL-0002 looks wrong",
        description="25 at wave1 but the paper form says 22.",
        found_in=f"delivery {CODE}/001",
    )
