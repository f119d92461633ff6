"""Demo imports: synthetic site files for every variable of the demo dictionary, uploaded by
each site's member and checked; two waves per site accepted by the data manager (a third
Oslo version, a correction, comes with ``correct_oslo``), and pending imports with planted
problems."""

from __future__ import annotations

import io
import random
from datetime import date, timedelta

from django.contrib.auth import get_user_model

from cohortvault.access.policy import Principal
from cohortvault.catalog import services as catalog
from cohortvault.catalog.schema import FieldType, Variable
from cohortvault.consortium.models import Study
from cohortvault.consortium.services import principal_for_user
from cohortvault.files import services as files
from cohortvault.imports import services as imports
from cohortvault.imports.models import Import
from cohortvault.quality.nationalids import fodselsnummer

SUBJECTS = 60
REASON = "Variables the site does not collect are missing, as agreed."


def _principal(username: str) -> Principal:
    return principal_for_user(get_user_model().objects.get(username=username))


def _value(variable: Variable, rng: random.Random) -> str:
    if variable.categories:
        return rng.choice(list(variable.categories))
    low = variable.minimum if variable.minimum is not None else 0
    high = variable.maximum if variable.maximum is not None else 100
    match variable.type:
        case FieldType.INTEGER:
            return str(rng.randint(int(low), int(high)))
        case FieldType.NUMBER:
            return f"{rng.uniform(low + (high - low) * 0.2, high - (high - low) * 0.2):.1f}"
        case FieldType.BOOLEAN:
            return rng.choice(("true", "false"))
        case FieldType.DATE:
            return (date(2018, 1, 1) + timedelta(days=rng.randint(0, 2000))).isoformat()
        case FieldType.YEARMONTH:
            return f"{rng.randint(1935, 1965)}-{rng.randint(1, 12):02d}"
    return ""


def site_file(
    site: str, timepoint: str, rng: random.Random, *, subjects: range, columns: list[Variable]
) -> list[list[str]]:
    """A header and one row per subject: every expected variable, some values missing."""
    rows = [[v.name for v in columns]]
    for n in subjects:
        row = []
        for variable in columns:
            if variable.name == "subject_id":
                row.append(f"{site[:3].upper()}-{n:04d}")
            elif variable.name == "timepoint":
                row.append(timepoint)
            elif variable.name == "site":
                row.append(site)
            elif rng.random() < 0.04:
                row.append("")  # a missing value
            else:
                row.append(_value(variable, rng))
        rows.append(row)
    return rows


def as_csv(rows: list[list[str]], delimiter: str = ",") -> str:
    return "".join(delimiter.join(row) + "\n" for row in rows)


def expected(site: str, timepoint: str) -> list[Variable]:
    return [
        v
        for v in catalog.current().variables
        if (not v.sites or site in v.sites) and (not v.timepoints or timepoint in v.timepoints)
    ]


def _put(principal: Principal, path: str, text: str) -> Import:
    data = text.encode("utf-8")
    files.write_file(principal, path, io.BytesIO(data), size=len(data))
    return Import.objects.latest("pk")


def _checked(row: Import) -> Import:
    imports.check(row.pk)
    return Import.objects.get(pk=row.pk)


def populate(site_members: dict[str, str], data_manager: str = "dm-anna") -> dict[str, int]:
    """Upload, check and decide the demo imports; returns counts by final state."""
    rng = random.Random(5)  # noqa: S311 (synthetic data, not secrets)
    manager = _principal(data_manager)
    for site, uploader in site_members.items():
        member = _principal(uploader)
        study = Study.objects.get(site__code=site)
        for timepoint in list(study.timepoints.order_by("order"))[:2]:
            columns = expected(site, timepoint.code)
            start = 1 if timepoint.order == 1 else 1 + SUBJECTS // 6  # some did not return
            rows = site_file(
                site, timepoint.code, rng, subjects=range(start, SUBJECTS + 1), columns=columns
            )
            path = f"sites/{site}/import/{study.code}/{timepoint.code}.csv"
            row = _checked(_put(member, path, as_csv(rows)))
            imports.accept(manager, row.pk, reason=REASON if row.warnings else "")
    _planted_problems(site_members, rng)
    imports.check_queued()
    counts: dict[str, int] = {}
    for state in Import.objects.values_list("state", flat=True):
        counts[state] = counts.get(state, 0) + 1
    return counts


def correct_oslo(uploader: str = "oslo-kari", data_manager: str = "dm-anna") -> None:
    """A third Oslo version: three corrected scores and a late wave-2 visit (after the first
    delivery, so the second one shows what changed)."""
    _oslo_correction(uploader, _principal(data_manager), random.Random(12))  # noqa: S311


def _oslo_correction(uploader: str, manager: Principal, rng: random.Random) -> None:
    columns = [
        v
        for v in catalog.current().variables
        if v.name in ("subject_id", "timepoint", "site", "mmse", "moca")
    ]
    rows = site_file("oslo", "wave1", rng, subjects=range(3, 6), columns=columns)
    rows += site_file("oslo", "wave2", rng, subjects=range(1, 2), columns=columns)[1:]
    path = "sites/oslo/import/ageing/corrections-2026-11.csv"
    row = _checked(_put(_principal(uploader), path, as_csv(rows, ";")))
    imports.accept(manager, row.pk, reason="Corrected MMSE/MoCA after re-scoring (ticket 12).")


def _valid_fodselsnummer(day: date) -> str:
    stem = day.strftime("%d%m%y")
    for individual in range(500, 1000):
        for controls in range(100):
            number = f"{stem}{individual:03d}{controls:02d}"
            if fodselsnummer(number):
                return number
    raise ValueError(f"no fødselsnummer for {day}")  # pragma: no cover


def _planted_problems(site_members: dict[str, str], rng: random.Random) -> None:
    oslo = _principal(site_members["oslo"])
    columns = expected("oslo", "wave3")
    rows = site_file("oslo", "wave3", rng, subjects=range(1, 41), columns=columns)
    mmse = rows[0].index("mmse")
    rows[4][mmse], rows[9][mmse] = "34", "-5"  # out of range
    rows.append(list(rows[7]))  # a duplicate subject at the same timepoint
    rows[0].append("favourite_colour")  # a column the dictionary does not know
    for row in rows[1:]:
        row.append(rng.choice(("blue", "green", "red")))
    _put(oslo, "sites/oslo/import/ageing/wave3.csv", as_csv(rows))

    keys = ["subject_id", "timepoint", "site", "email", "birth_date", "fnr", "mmse"]
    contact = [keys]
    for n in range(1, 11):
        born = date(1940 + n, n, 10 + n)
        email, fnr = f"participant{n}@example.org", _valid_fodselsnummer(born)
        score = str(rng.randint(20, 30))
        contact.append([f"OSL-{n:04d}", "wave3", "oslo", email, born.isoformat(), fnr, score])
    _put(oslo, "sites/oslo/import/ageing/wave3-contact-list.csv", as_csv(contact))

    lars = _principal(site_members["uppsala"])
    partial = [
        v for v in expected("uppsala", "followup") if v.domain in ("identifiers", "cognition")
    ]
    rows = site_file("uppsala", "followup", rng, subjects=range(1, 31), columns=partial)
    _put(lars, "sites/uppsala/import/uls/followup-cognition-update.csv", as_csv(rows, "\t"))
