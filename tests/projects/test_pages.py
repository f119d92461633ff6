"""The project pages for each role: lists, the proposal form, the proposal with its
availability table and decision form, the history, and the project with its agreements."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cohortvault.access.policy import Role
from cohortvault.consortium.models import Project
from cohortvault.identity.models import User
from cohortvault.projects import services
from cohortvault.projects.models import Agreement, Proposal
from tests import factories
from tests.projects.conftest import PDF, signed

pytestmark = pytest.mark.django_db


def no_inline_code(html: str) -> None:
    """The strict Content-Security-Policy would block inline scripts and styles."""
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert " style=" not in html and "<style" not in html


def test_the_list_for_each_role(
    submitted: Proposal, author: User, approver: User, data_manager: User, administrator: User
) -> None:
    for user, tab, expected in [
        (author, "mine", True),
        (approver, "awaiting", True),
        (approver, "mine", False),
        (data_manager, "all", True),
        (administrator, "all", True),
        (factories.make_user("outsider"), "all", False),
    ]:
        page = factories.signed_in_client(user).get("/projects/", {"view": tab})
        assert page.status_code == 200
        html = page.content.decode()
        assert ("Amyloid and cognition" in html) is expected, (user, tab)
        no_inline_code(html)


def test_drafting_through_the_form(consortium: None, author: User, pi: User, member: User) -> None:
    client = factories.signed_in_client(author)
    form = client.get("/projects/proposals/new/")
    html = form.content.decode()
    assert form.status_code == 200 and 'value="pi-ola"' not in html
    assert "<legend>cognition</legend>" in html and 'value="mmse"' in html
    assert 'value="subject_id"' not in html and "projects/variables.js" in html
    no_inline_code(html)
    data = {
        "title": "Amyloid",
        "code": "amyloid",
        "principal_investigator": "pi-ola",
        "members": "berlin-jonas, ghost",
        "variables": ["mmse"],
        "sites": ["oslo"],
        "studies": ["study"],
        "timepoints": ["wave1"],
    }
    refused = client.post("/projects/proposals/new/", data)
    assert (
        refused.status_code == 422
        and "There is no user &#x27;ghost&#x27;." in refused.content.decode()
    )
    assert 'value="mmse" checked' in refused.content.decode()  # the choices are kept
    created = client.post("/projects/proposals/new/", {**data, "members": "berlin-jonas"})
    assert created.status_code == 302
    proposal = Proposal.objects.get()
    page = client.get(created.url).content.decode()
    assert "Submit to the general assembly" in page and '<td class="num">6</td>' in page
    edit = client.get(f"/projects/proposals/{proposal.pk}/edit/").content.decode()
    assert 'value="mmse" checked' in edit
    edited = client.post(
        f"/projects/proposals/{proposal.pk}/edit/", {**data, "members": "", "aims": "Why."}
    )
    assert edited.status_code == 302
    assert client.post(f"/projects/proposals/{proposal.pk}/submit/").status_code == 302
    proposal.refresh_from_db()
    assert proposal.state == "submitted" and proposal.members.count() == 0


def test_the_proposal_page_for_each_role(
    submitted: Proposal, author: User, pi: User, member: User, approver: User, data_manager: User
) -> None:
    url = f"/projects/proposals/{submitted.pk}/"
    for user in (author, pi, member, approver, data_manager):
        page = factories.signed_in_client(user).get(url)
        assert page.status_code == 200, user
        html = page.content.decode()
        assert "fewer than 5" in html and ">6<" in html
        assert ('id="decide"' in html) is (user == approver), user
        no_inline_code(html)
    factories.grant(member, Role.APPROVER)
    html = factories.signed_in_client(member).get(url).content.decode()
    assert 'id="no-decision"' in html and "four eyes" in html
    assert factories.signed_in_client(factories.make_user("outsider")).get(url).status_code == 404


def test_deciding_and_notifying_through_the_pages(submitted: Proposal, approver: User) -> None:
    client = factories.signed_in_client(approver)
    url = f"/projects/proposals/{submitted.pk}/"
    decision = {
        "outcome": "approved_with_conditions",
        "meeting_date": timezone.localdate().isoformat(),
        "reference": "GA-1",
    }
    incomplete = client.post(url + "decide/", decision)
    assert incomplete.status_code == 422
    assert "An approval with conditions needs the conditions." in incomplete.content.decode()
    decided = client.post(url + "decide/", {**decision, "conditions": "Acknowledge the sites."})
    assert decided.status_code == 302 and Project.objects.filter(code="amyloid").exists()
    page = client.get(url).content.decode()
    assert "Acknowledge the sites." in page and 'id="notify-form"' in page
    assert client.post(url + "notify/", {"note": ""}).status_code == 302
    history = client.get(url + "history/").content.decode()
    assert "notify_data_manager" in history and "approver-olav" in history


def test_the_project_page_and_agreements_for_each_role(
    approved: Proposal,
    data_manager: User,
    administrator: User,
    pi: User,
    member: User,
) -> None:
    dm = factories.signed_in_client(data_manager)
    page = dm.get("/projects/amyloid/")
    html = page.content.decode()
    assert page.status_code == 200 and 'id="record-oslo"' in html and 'id="close"' not in html
    assert "The agreement with site oslo is pending, not signed." in html
    no_inline_code(html)
    posted = dm.post(
        "/projects/amyloid/agreements/oslo/",
        {
            "oslo-status": "signed",
            "oslo-signed_on": timezone.localdate().isoformat(),
            "oslo-document": SimpleUploadedFile("oslo-dta.pdf", PDF, "application/pdf"),
        },
    )
    assert posted.status_code == 302, posted.content.decode()
    agreement = Agreement.objects.get(site__code="oslo")
    assert agreement.status == "signed" and agreement.documents.count() == 1
    document = agreement.documents.get()
    link = f"/projects/amyloid/agreements/oslo/documents/{document.pk}.pdf"
    admin = factories.signed_in_client(administrator)
    admin_page = admin.get("/projects/amyloid/").content.decode()
    assert (
        link in admin_page and 'id="close"' in admin_page and 'id="record-oslo"' not in admin_page
    )
    assert b"".join(admin.get(link).streaming_content) == PDF  # type: ignore[attr-defined]
    for reader in (pi, member):
        client = factories.signed_in_client(reader)
        shown = client.get("/projects/amyloid/").content.decode()
        assert "signed copy on file" in shown and link not in shown
        assert client.get(link).status_code == 403
        assert (
            client.post(
                "/projects/amyloid/agreements/berlin/", {"berlin-status": "signed"}
            ).status_code
            == 403
        )
    bad = dm.post("/projects/amyloid/agreements/berlin/", {"berlin-status": "signed"})
    assert bad.status_code == 422 and "needs the date it was signed" in bad.content.decode()
    closed = admin.post("/projects/amyloid/close/", {"reason": "The project ended."})
    assert closed.status_code == 302
    assert Project.objects.get(code="amyloid").status == "closed"


def test_services_record_the_agreement_form_the_same_way(
    approved: Proposal, data_manager: User
) -> None:
    services.record_agreement(factories.principal(data_manager), "amyloid", "berlin", signed())
    html = factories.signed_in_client(data_manager).get("/projects/amyloid/").content.decode()
    assert "The agreement with site oslo is pending" in html
    assert "berlin is pending" not in html
