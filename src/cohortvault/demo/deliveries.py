"""Demo deliveries: two extractions for the approved ``amyloid-cognition`` project, the second
after Oslo's correction and with a z-score, so their diff shows the corrected cells."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from cohortvault.consortium.services import principal_for_user
from cohortvault.deliveries import services
from cohortvault.demo import imports
from cohortvault.extraction import ZScore

PROJECT = "amyloid-cognition"


def populate(data_manager: str = "dm-anna") -> int:
    """Make deliveries 001 and 002; returns how many there are."""
    manager = principal_for_user(get_user_model().objects.get(username=data_manager))
    services.run_extraction(manager, PROJECT, note="First delivery after the agreements.")
    imports.correct_oslo()
    services.run_extraction(
        manager,
        PROJECT,
        transforms=(ZScore("mmse", "site", "mmse_z"),),
        note="Re-delivered after Oslo's corrections; MMSE z-scores within site added.",
    )
    return len(services.deliveries(manager, PROJECT))
