"""The ticket pages: the report form (pre-filled from the page an error was seen on), the
list and its filters, one ticket for those who may see it, comments, attachments, and the
data manager's state changes."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from cohortvault.audit.models import AuditEntry
from cohortvault.identity.models import User
from cohortvault.tickets import services
from cohortvault.tickets.models import Attachment, Ticket
from tests import factories
from tests.corrections.conftest import delivered as delivered
from tests.corrections.conftest import ticket as ticket
from tests.deliveries.conftest import CODE, World
from tests.deliveries.conftest import world as world

pytestmark = pytest.mark.django_db


def text(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined,no-any-return]


@pytest.fixture
def reporter(delivered: World) -> Client:
    """The project member who reported ``ticket`` (not a member of the site)."""
    return factories.signed_in_client(delivered.member_user)


@pytest.fixture
def manager(delivered: World, data_manager: User) -> Client:
    return factories.signed_in_client(data_manager)


@pytest.fixture
def outsider(delivered: World, user: User) -> Client:
    return factories.signed_in_client(user)


def test_the_report_form_is_prefilled_and_files_a_ticket(reporter: Client) -> None:
    query = {
        "site": "oslo",
        "study": "study",
        "variable": ["mmse", "not_a_variable"],
        "subject_id": "OSL-0002",
        "timepoint": "wave1",
        "found_in": f"delivery {CODE}/001",
    }
    form = text(reporter.get("/tickets/new/", query))
    assert '<option value="oslo" selected>' in form
    assert '<option value="mmse" selected>' in form and '<option value="sex">' in form
    assert 'id="variables_text" name="variables_text" type="text" value="not_a_variable"' in form
    assert 'value="OSL-0002"' in form and '<option value="wave1" selected>' in form
    assert f'value="delivery {CODE}/001"' in form

    response = reporter.post(
        "/tickets/new/",
        {
            "site": "oslo",
            "study": "study",
            "variables": ["mmse"],
            "variables_text": "sex",
            "subject_id": "OSL-0002",
            "timepoint": "wave1",
            "found_in": f"delivery {CODE}/001",
            "title": "Odd MMSE",
            "description": "25, but the form says 22.",
            "attachment": SimpleUploadedFile("form.txt", b"MMSE 22", "text/plain"),
        },
        follow=True,
    )
    row = Ticket.objects.get()
    assert response.redirect_chain == [(f"/tickets/{row.pk}/", 302)]
    assert (row.site.code, row.variables, row.subject_id, row.found_in) == (
        "oslo",
        ["mmse", "sex"],
        "OSL-0002",
        f"delivery {CODE}/001",
    )
    page = text(response)
    assert f"Reported ticket {row.pk}" in page and "Odd MMSE" in page
    assert Attachment.objects.get(ticket=row).name == "form.txt"
    assert f'href="/tickets/{row.pk}/attachments/' in page


def test_a_refused_report_keeps_what_was_typed(reporter: Client) -> None:
    response = reporter.post(
        "/tickets/new/",
        {"site": "oslo", "study": "study", "variables_text": "moca", "title": "T"},
    )
    assert response.status_code == 422
    page = text(response)
    assert 'id="refusal"' in page and "not in the data dictionary" in page
    assert 'value="moca"' in page and 'value="T"' in page
    assert not Ticket.objects.exists()


def test_the_list_and_its_filters(
    delivered: World,
    ticket: services.TicketInfo,
    manager: Client,
    reporter: Client,
    outsider: Client,
) -> None:
    other = services.report(
        delivered.manager,
        site="berlin",
        study="study",
        variables=["sex"],
        title="Sex of BER-0001",
        description="Recorded as M.",
    )
    services.change_state(delivered.manager, other.number, "wont_fix", reason="It is right.")
    page = text(manager.get("/tickets/"))
    assert ticket.title in page and other.title not in page  # active tickets by default
    assert 'href="/corrections/error-log/"' in page and 'href="/tickets/new/"' in page
    assert 'href="/corrections/withdrawals/"' in page
    closed = text(manager.get("/tickets/", {"state": "closed"}))
    assert other.title in closed and ticket.title not in closed
    assert '<span class="badge state-wont_fix">Will not fix</span>' in closed
    every = text(manager.get("/tickets/", {"state": "all"}))
    assert ticket.title in every and other.title in every
    berlin = text(manager.get("/tickets/", {"state": "all", "site": "berlin"}))
    assert other.title in berlin and ticket.title not in berlin
    mine = text(manager.get("/tickets/", {"state": "all", "mine": "1"}))
    assert other.title in mine and ticket.title not in mine

    own = text(reporter.get("/tickets/", {"state": "all"}))
    assert ticket.title in own and other.title not in own
    assert 'href="/corrections/withdrawals/"' not in own
    assert 'id="no-tickets"' in text(outsider.get("/tickets/", {"state": "all"}))
    assert manager.get("/tickets/", {"state": "nonsense"}).status_code == 422


def test_the_reporter_sees_the_ticket_and_an_outsider_does_not(
    ticket: services.TicketInfo, reporter: Client, outsider: Client, site_member: User
) -> None:
    page = text(reporter.get(f"/tickets/{ticket.number}/"))
    assert ticket.title in page and ticket.description in page
    assert "reported the error." in page and f"delivery {CODE}/001" in page
    assert 'id="comment-form"' in page and 'id="attach-form"' in page
    assert 'id="state-form"' not in page and 'id="cells-form"' not in page
    colleague = factories.signed_in_client(site_member)
    assert ticket.title in text(colleague.get(f"/tickets/{ticket.number}/"))
    refused = outsider.get(f"/tickets/{ticket.number}/")
    assert refused.status_code == 404 and ticket.title not in text(refused)
    assert outsider.get("/tickets/999/").status_code == 404


def test_comments_and_attachments(
    delivered: World, ticket: services.TicketInfo, reporter: Client, outsider: Client
) -> None:
    url = f"/tickets/{ticket.number}/"
    commented = reporter.post(f"{url}comment/", {"text": "The paper form is scanned."}, follow=True)
    assert commented.redirect_chain == [(f"{url}#history", 302)]
    assert "The paper form is scanned." in text(commented)
    empty = reporter.post(f"{url}comment/", {"text": "  "}, follow=True)
    assert "The comment is required." in text(empty)

    upload = SimpleUploadedFile("scan.pdf", b"%PDF-1.4 scan", "application/pdf")
    attached = reporter.post(f"{url}attach/", {"file": upload}, follow=True)
    assert "Attached scan.pdf." in text(attached)
    stored = Attachment.objects.get(ticket_id=ticket.number)
    assert stored.size == len(b"%PDF-1.4 scan")
    download = reporter.get(f"{url}attachments/{stored.pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.4 scan"  # type: ignore[attr-defined]
    assert download["Content-Disposition"].startswith("attachment")
    assert download["Content-Type"] == "application/octet-stream"
    assert outsider.get(f"{url}attachments/{stored.pk}/").status_code == 404
    assert outsider.post(f"{url}comment/", {"text": "me too"}).status_code == 404
    kinds = [e.kind for e in services.get(delivered.manager, ticket.number).events]
    assert kinds == ["reported", "comment", "attachment"]


def test_the_data_manager_changes_the_state_and_no_one_else(
    ticket: services.TicketInfo, manager: Client, reporter: Client
) -> None:
    url = f"/tickets/{ticket.number}/"
    page = text(manager.get(url))
    assert 'id="state-form"' in page and 'id="cells-form"' in page and 'id="file-form"' in page
    triaged = manager.post(f"{url}state/", {"state": "triaged", "reason": "Checking."}, follow=True)
    assert f"Ticket {ticket.number} is now triaged." in text(triaged)
    assert "moved it from <em>open</em> to <em>triaged</em>" in text(triaged)
    assert Ticket.objects.get(pk=ticket.number).state == "triaged"

    unnamed = manager.post(f"{url}state/", {"state": "duplicate"}, follow=True)
    assert "Name the other ticket this one duplicates." in text(unnamed)
    garbled = manager.post(f"{url}state/", {"state": "duplicate", "duplicate_of": "x"}, follow=True)
    assert "Name the duplicated ticket by its number." in text(garbled)
    refused = reporter.post(f"{url}state/", {"state": "resolved", "reason": "Fixed it myself."})
    assert refused.status_code == 403
    assert Ticket.objects.get(pk=ticket.number).state == "triaged"
    assert AuditEntry.objects.filter(action="access.approve", outcome="denied").exists()


def test_report_links_prefill_from_the_dataset_and_delivery_pages(
    delivered: World, manager: Client
) -> None:
    version = text(manager.get("/datasets/oslo/study/1/"))
    assert (
        'href="/tickets/new/?site=oslo&amp;study=study&amp;found_in=dataset%20oslo/study'
        '%20version%201"' in version
    )
    delivery = text(manager.get(f"/deliveries/{CODE}/1/"))
    assert f'href="/tickets/new/?found_in=delivery%20{CODE}/001"' in delivery
    assert f"?site=berlin&amp;study=study&amp;found_in=delivery%20{CODE}/001" in delivery
    form = text(manager.get("/tickets/new/", {"found_in": f"delivery {CODE}/001"}))
    assert f'value="delivery {CODE}/001"' in form and '<option value="">choose a site' in form
    assert 'href="/tickets/"' in form  # the top navigation
