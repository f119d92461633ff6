"""Sample files for the demo: something in every kind of area, written through the file service
by the people who would write it, with an overwritten and a deleted file to restore."""

from __future__ import annotations

import io
import random

from django.contrib.auth import get_user_model

from cohortvault.access.policy import Principal
from cohortvault.consortium.models import Timepoint
from cohortvault.consortium.services import principal_for_user
from cohortvault.files import services as files

COLUMNS = "subject_id,timepoint,site,birth_month,sex,education_years,mmse,tmt_b_seconds\n"


def _principal(username: str) -> Principal:
    return principal_for_user(get_user_model().objects.get(username=username))


def _put(principal: Principal, path: str, text: str) -> None:
    data = text.encode("utf-8")
    files.write_file(principal, path, io.BytesIO(data), size=len(data))


def cognition_csv(site: str, timepoint: str, rng: random.Random, subjects: int = 40) -> str:
    """Synthetic harmonized cognition scores: no real person is behind any row."""
    rows = [COLUMNS]
    prefix = site[:3].upper()
    for n in range(1, subjects + 1):
        birth = f"{rng.randint(1935, 1965)}-{rng.randint(1, 12):02d}"
        rows.append(
            f"{prefix}-{n:04d},{timepoint},{site},{birth},{rng.choice('FM')},"
            f"{rng.randint(7, 20)},{rng.randint(18, 30)},{rng.randint(45, 240)}\n"
        )
    return "".join(rows)


def populate(site_members: dict[str, str]) -> int:
    """Write the sample files; ``site_members`` names one uploader per site. Returns a count."""
    rng = random.Random(2026)  # noqa: S311 (synthetic data, not secrets)
    data_manager = _principal("dm-anna")
    written = 0
    for timepoint in Timepoint.objects.select_related("study__site").order_by(
        "study__site__code", "order"
    ):
        site, study = timepoint.study.site.code, timepoint.study.code
        text = cognition_csv(site, timepoint.code, rng)
        _put(data_manager, f"sites/{site}/data/{study}/{timepoint.code}/cognition.csv", text)
        written += 1
    for site, uploader in site_members.items():
        member = _principal(uploader)
        _put(
            member,
            f"sites/{site}/import/incoming/cognition-latest.csv",
            cognition_csv(site, "latest", rng, 12),
        )
        _put(
            member,
            f"sites/{site}/import/README.txt",
            f"Files for {site} awaiting the data manager.\n",
        )
        written += 2
    kari = _principal("oslo-kari")
    path = "sites/oslo/import/incoming/cognition-latest.csv"
    _put(
        kari, path, cognition_csv("oslo", "latest", rng, 15)
    )  # an overwrite: version 1 stays restorable
    _put(kari, "sites/oslo/import/incoming/draft-to-delete.csv", COLUMNS)
    files.delete(kari, "sites/oslo/import/incoming/draft-to-delete.csv")
    for project in ("memory-decline", "brain-age"):
        _put(
            data_manager,
            f"projects/{project}/README.md",
            f"# {project}\n\nDeliveries from the data manager appear under `deliveries/`.\n",
        )
        written += 1
    _put(
        _principal("multi-ingrid"),
        "projects/brain-age/analysis/notes.md",
        "# Analysis notes\n\nTo do.\n",
    )
    _put(
        data_manager,
        "logs/README.md",
        "# Common area\n\n"
        "The data dictionary, availability summaries and the error log live here.\n",
    )
    for username in ("oslo-kari", "guest-nora", "dm-anna"):
        _put(
            _principal(username), f"home/{username}/welcome.txt", f"Private notes of {username}.\n"
        )
    return written + 7
