"""The correction pages: correcting a ticket's data from its page (cell edits and a corrected
file), the correction with the deliveries it reached and its change log, re-delivery, consent
withdrawals, and the public error log."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from cohortvault.corrections.models import Correction, Withdrawal
from cohortvault.datasets import services as datasets
from cohortvault.deliveries import services as deliveries
from cohortvault.identity.models import User
from cohortvault.tickets import services as tickets
from cohortvault.tickets.models import Ticket
from tests import factories
from tests.deliveries.conftest import CODE, World

pytestmark = pytest.mark.django_db
FIX = {"edits": "OSL-0002,wave1,mmse,22", "reason": "Re-scored from the paper form."}


def text(response: Any) -> str:
    return str(response.content.decode())


@pytest.fixture
def manager(delivered: World, data_manager: User) -> Client:
    return factories.signed_in_client(data_manager)


@pytest.fixture
def colleague(delivered: World, site_member: User) -> Client:
    """A member of Oslo, the site the ticket is about: reads its corrections."""
    return factories.signed_in_client(site_member)


@pytest.fixture
def corrected(ticket: tickets.TicketInfo, manager: Client) -> Correction:
    response = manager.post(f"/corrections/tickets/{ticket.number}/cells/", FIX)
    assert response.status_code == 302, text(response)
    return Correction.objects.get()


def _versions(world: World) -> int:
    return len(datasets.log(world.manager, "oslo", "study"))


def test_correcting_cells_from_the_ticket_page(
    delivered: World, ticket: tickets.TicketInfo, manager: Client
) -> None:
    ticket_page = text(manager.get(f"/tickets/{ticket.number}/"))
    assert f'action="/corrections/tickets/{ticket.number}/cells/"' in ticket_page
    response = manager.post(f"/corrections/tickets/{ticket.number}/cells/", FIX, follow=True)
    made = Correction.objects.get()
    assert response.redirect_chain == [(f"/corrections/{made.pk}/", 302)]
    page = text(response)
    assert (
        f"Correction {made.pk}: 1 value(s) of mmse corrected in oslo/study version 2; "
        f"ticket {ticket.number} is resolved. Waiting for a corrected delivery: {CODE}."
    ) in page
    version = datasets.version_info(delivered.manager, "oslo", "study")
    assert (version.number, version.ticket, version.reason) == (2, ticket.number, FIX["reason"])
    assert Ticket.objects.get(pk=ticket.number).state == "resolved"
    version_page = text(manager.get("/datasets/oslo/study/2/"))
    assert f'<a href="/tickets/{ticket.number}/">ticket {ticket.number}</a>' in version_page
    assert 'id="redeliver-form"' in page and '<span class="badge failed">waiting</span>' in page
    assert f'href="/deliveries/{CODE}/1/"' in page and 'href="/datasets/oslo/study/2/"' in page
    history = text(manager.get(f"/tickets/{ticket.number}/"))
    assert f'href="/corrections/{made.pk}/"' in history and 'id="cells-form"' in history
    as_reporter = factories.signed_in_client(delivered.member_user).get(
        f"/tickets/{ticket.number}/"
    )
    assert "corrected the data" in text(as_reporter)  # not a member of the site:
    assert f'href="/corrections/{made.pk}/"' not in text(as_reporter)  # no link to a 404


@pytest.mark.parametrize(
    ("edits", "problem"),
    [
        ("OSL-0002,wave1,mmse,31", "The new values do not pass quality control"),
        ("OSL-9999,wave1,mmse,20", "no row for OSL-9999 at wave1"),
        ("OSL-0002,wave1,mmse", "line 1: 3 field(s)"),
        ("", "Give at least one cell to correct."),
    ],
)
def test_a_bad_cell_edit_shows_why_and_changes_nothing(
    delivered: World, ticket: tickets.TicketInfo, manager: Client, edits: str, problem: str
) -> None:
    response = manager.post(
        f"/corrections/tickets/{ticket.number}/cells/", {"edits": edits, "reason": "fix"}
    )
    assert response.status_code == 422
    page = text(response)
    assert 'id="refusal"' in page and problem in page
    assert f">{edits}</textarea>" in page and ">fix</textarea>" in page  # kept for another try
    assert _versions(delivered) == 1 and not Correction.objects.exists()
    assert Ticket.objects.get(pk=ticket.number).state == "open"


def test_only_the_data_manager_corrects(
    delivered: World, ticket: tickets.TicketInfo, colleague: Client, user: User
) -> None:
    url = f"/corrections/tickets/{ticket.number}/cells/"
    assert colleague.post(url, FIX).status_code == 403
    assert factories.signed_in_client(user).post(url, FIX).status_code == 404
    reporter = factories.signed_in_client(delivered.member_user)
    assert reporter.post(url, FIX).status_code == 403
    assert _versions(delivered) == 1


def test_correcting_with_a_file(
    delivered: World, ticket: tickets.TicketInfo, manager: Client, settings: Any
) -> None:
    settings.COHORTVAULT_QUALITY_CHECK_INTERVAL = 0
    url = f"/corrections/tickets/{ticket.number}/file/"
    bad = b"subject_id,timepoint,site,mmse\nOSL-0002,wave1,oslo,99\n"
    refused = manager.post(
        url, {"file": SimpleUploadedFile("fix.csv", bad, "text/csv"), "reason": "Re-scored."}
    )
    assert refused.status_code == 422
    assert "The corrected file has errors" in text(refused) and "mmse" in text(refused)
    assert _versions(delivered) == 1
    good = b"subject_id,timepoint,site,mmse\nOSL-0002,wave1,oslo,22\n"
    response = manager.post(
        url, {"file": SimpleUploadedFile("fix.csv", good, "text/csv"), "reason": "Re-scored."}
    )
    made = Correction.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/corrections/{made.pk}/"
    assert (made.kind, made.cells, made.new_version) == ("file", 1, 2)
    page = text(manager.get(response["Location"]))
    assert "corrected file" in page and f'href="/imports/{made.import_id}/"' in page
    missing = manager.post(url, {"reason": "Re-scored."})
    assert missing.status_code == 422 and "Choose the corrected file." in text(missing)


def test_the_change_log_as_a_page_and_as_csv(
    corrected: Correction, manager: Client, colleague: Client, user: User
) -> None:
    url = f"/corrections/{corrected.pk}/changes/"
    page = text(colleague.get(url))
    assert "oslo/study version 1 → 2" in page and "1 cell(s) changed" in page
    assert (
        "<tr><td>OSL-0002</td><td>wave1</td><td><code>mmse</code></td><td>25</td><td>22</td></tr>"
        in page
    )
    download = manager.get(url, {"format": "csv"})
    assert download["Content-Disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert [(r["subject_id"], r["column"], r["old"], r["new"]) for r in rows] == [
        ("OSL-0002", "mmse", "25", "22")
    ]
    outsider = factories.signed_in_client(user)
    assert outsider.get(url).status_code == 404
    listed = text(colleague.get("/corrections/", {"site": "oslo"}))
    assert f'href="/corrections/{corrected.pk}/"' in listed and "OSL-" not in listed
    assert 'id="no-corrections"' in text(outsider.get("/corrections/"))


def test_re_delivering_from_the_correction_page(
    delivered: World, corrected: Correction, manager: Client, colleague: Client
) -> None:
    url = f"/corrections/{corrected.pk}/"
    seen_by_site = text(colleague.get(url))
    assert "1 value(s) of <code>mmse</code>" in seen_by_site
    assert 'id="redeliver-form"' not in seen_by_site
    assert colleague.post(f"{url}redeliver/").status_code == 403
    assert [d.number for d in deliveries.deliveries(delivered.manager, CODE)] == [1]

    pending = text(manager.get("/corrections/pending/"))
    assert f'href="/corrections/{corrected.pk}/"' in pending
    assert colleague.get("/corrections/pending/").status_code == 403
    response = manager.post(f"{url}redeliver/", follow=True)
    page = text(response)
    assert f"Re-delivered: {CODE} 002." in page
    assert '<span class="badge ok">re-delivered</span>' in page
    assert f'href="/deliveries/{CODE}/diff/?old=1&amp;new=2"' in page
    assert 'id="redeliver-form"' not in page
    assert [d.number for d in deliveries.deliveries(delivered.manager, CODE)] == [2, 1]
    assert 'id="nothing-pending"' in text(manager.get("/corrections/pending/"))


def test_consent_withdrawal_is_the_data_managers(
    delivered: World, manager: Client, colleague: Client
) -> None:
    form = text(manager.get("/corrections/withdrawals/"))
    assert 'id="withdraw-form"' in form and '<option value="oslo">' in form
    assert 'id="withdraw-form"' not in text(colleague.get("/corrections/withdrawals/"))
    body = {"site": "oslo", "subject_id": "OSL-0002", "reason": "Letter of 2026-12-01."}
    assert colleague.post("/corrections/withdrawals/record/", body).status_code == 403
    assert not Withdrawal.objects.exists()

    response = manager.post("/corrections/withdrawals/record/", body, follow=True)
    made = Withdrawal.objects.get()
    assert response.redirect_chain == [(f"/corrections/withdrawals/{made.pk}/", 302)]
    page = text(response)
    assert f"Recorded withdrawal {made.pk} at oslo: 1 dataset(s)" in page
    assert "OSL-0002" in page and made.erase_after.strftime("%Y-%m-%d") in page
    assert "oslo/study 1 → 2" in page and "1 row(s) removed" in page
    assert "OSL-0002" in text(manager.get("/corrections/withdrawals/"))
    again = manager.post("/corrections/withdrawals/record/", body, follow=True)
    assert "already recorded" in text(again)
    assert colleague.get(f"/corrections/withdrawals/{made.pk}/").status_code == 404


def test_the_error_log_is_for_everyone_and_names_no_subject(
    corrected: Correction, ticket: tickets.TicketInfo, user: User
) -> None:
    anyone = factories.signed_in_client(user)
    page = text(anyone.get("/corrections/error-log/"))
    assert f"<td>{ticket.number}</td>" in page and "<code>mmse</code>" in page
    assert "OSL-" not in page and ticket.title not in page
    assert 'href="/files/download/logs/error-log/error-log.csv"' in page
    published = anyone.get("/files/download/logs/error-log/error-log.csv")
    assert published.status_code == 200
    content = b"".join(published.streaming_content).decode()  # type: ignore[attr-defined]
    assert content.startswith("ticket,site,dataset") and "OSL-" not in content
    tickets_page = text(anyone.get("/tickets/"))
    assert 'href="/corrections/error-log/"' in tickets_page
