"""The project lifecycle through the REST API: proposals, the decision, the notice to data
managers, agreements with their signed document, closing, and the refusals on the way."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from cohortvault.audit.models import AuditEntry
from cohortvault.consortium.models import Project
from cohortvault.governance.models import AccessRequest
from cohortvault.identity import tokens
from cohortvault.identity.models import User
from cohortvault.projects.models import Proposal
from tests.projects.conftest import PDF

pytestmark = pytest.mark.django_db
API = "/api/v1"


def bearer(user: User, scope: str = "full") -> Client:
    secret = tokens.create_token(user, name=f"{scope} script", scope=scope).token
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def post(client: Client, route: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(f"{API}{route}", body or {}, content_type="application/json")


BODY: dict[str, Any] = {
    "title": "Amyloid and cognition",
    "code": "amyloid",
    "principal_investigator": "pi-ola",
    "aims": "Relate cognition to ageing.",
    "members": ["berlin-jonas"],
    "variables": ["mmse"],
    "sites": ["oslo", "berlin"],
    "studies": ["study"],
    "timepoints": ["wave1"],
}


def test_the_whole_lifecycle_through_the_api(
    consortium: None,
    author: User,
    pi: User,
    member: User,
    approver: User,
    data_manager: User,
    administrator: User,
) -> None:
    writer, olav, dm, admin = (bearer(u) for u in (author, approver, data_manager, administrator))
    created = post(writer, "/proposals", {**BODY, "aims": ""})
    assert created.status_code == 201, created.content
    proposal = created.json()
    assert (proposal["state"], proposal["author"], proposal["members"]) == (
        "draft",
        "oslo-researcher",
        ["berlin-jonas"],
    )
    pid = proposal["id"]
    assert olav.get(f"{API}/proposals/{pid}").status_code == 404  # drafts are private
    incomplete = post(writer, f"/proposals/{pid}/submit")
    assert incomplete.status_code == 422
    assert "Describe the project's aims before submitting." in incomplete.json()["error"]["details"]
    updated = writer.put(f"{API}/proposals/{pid}", BODY, content_type="application/json")
    assert updated.status_code == 200 and updated.json()["aims"] == BODY["aims"]
    counts = writer.get(f"{API}/proposals/{pid}/availability").json()
    assert [(c["site"], c["count"], c["shown"]) for c in counts] == [
        ("berlin", None, "fewer than 5"),
        ("oslo", 6, "6"),
    ]
    assert post(writer, f"/proposals/{pid}/submit").json()["state"] == "submitted"
    assert [p["id"] for p in olav.get(f"{API}/proposals", {"view": "awaiting"}).json()] == [pid]

    assert (
        post(bearer(pi), f"/proposals/{pid}/decision", {"outcome": "approved"}).status_code == 403
    )
    decision = {
        "outcome": "approved",
        "meeting_date": timezone.localdate().isoformat(),
        "reference": "GA-2025-07",
    }
    decided = post(olav, f"/proposals/{pid}/decision", decision)
    assert decided.status_code == 200, decided.content
    assert (
        decided.json()["project"] == "amyloid" and decided.json()["decided_by"] == "approver-olav"
    )
    assert AccessRequest.objects.filter(group__project__code="amyloid").count() == 2
    notified = post(olav, f"/proposals/{pid}/notify-data-manager", {"note": "Two sites."})
    assert notified.json()["data_manager_notified_at"] is not None
    history = writer.get(f"{API}/proposals/{pid}/history").json()
    assert [e["action"] for e in history] == [
        "create",
        "edit",
        "submit",
        "decide",
        "notify_data_manager",
    ]

    project = writer.get(f"{API}/projects/amyloid").json()
    assert project["status"] == "active" and len(project["blockers"]) == 2
    signed = {"status": "signed", "signed_on": timezone.localdate().isoformat()}
    assert post(writer, "/projects/amyloid/agreements/oslo", signed).status_code == 403
    for site in ("oslo", "berlin"):
        recorded = post(dm, f"/projects/amyloid/agreements/{site}", signed)
        assert recorded.status_code == 200 and recorded.json()["valid"] is True
    uploaded = dm.put(
        f"{API}/projects/amyloid/agreements/oslo/document?filename=oslo.pdf",
        PDF,
        content_type="application/pdf",
    )
    assert uploaded.status_code == 201, uploaded.content
    assert admin.get(f"{API}/projects/amyloid/agreements/oslo/document").getvalue() == PDF
    refused = writer.get(f"{API}/projects/amyloid/agreements/oslo/document")
    assert refused.status_code == 403
    agreements = writer.get(f"{API}/projects/amyloid/agreements").json()
    assert [len(a["documents"]) for a in agreements] == [0, 1]
    assert writer.get(f"{API}/projects/amyloid").json()["blockers"] == []

    assert post(dm, "/projects/amyloid/close", {"reason": "Done."}).status_code == 403
    closed = post(admin, "/projects/amyloid/close", {"reason": "Done."})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert closed.json()["blockers"] == ["Project amyloid is closed."]


def test_bad_input_is_refused_with_every_problem(
    consortium: None, author: User, pi: User, member: User
) -> None:
    body = {**BODY, "variables": ["mmse", "shoe_size"], "sites": ["atlantis"], "members": ["ghost"]}
    refused = post(bearer(author), "/proposals", body)
    assert refused.status_code == 422
    details = refused.json()["error"]["details"]
    assert "There is no site 'atlantis'." in details and "There is no user 'ghost'." in details
    assert any("shoe_size" in d for d in details)
    assert not Proposal.objects.exists()
    entry = AuditEntry.objects.get(action="projects.proposal.create", outcome="failed")
    assert entry.actor == "oslo-researcher"


def test_a_rejection_through_the_api_creates_nothing(submitted: Proposal, approver: User) -> None:
    body = {
        "outcome": "rejected",
        "meeting_date": timezone.localdate().isoformat(),
        "reference": "GA-2025-08",
        "reason": "Out of scope.",
    }
    decided = post(bearer(approver), f"/proposals/{submitted.pk}/decision", body)
    assert decided.json()["state"] == "rejected" and decided.json()["project"] is None
    assert not Project.objects.exists()


def test_read_only_and_project_tokens_cannot_change_proposals(
    submitted: Proposal, approver: User, author: User
) -> None:
    decision = {"outcome": "approved", "meeting_date": "2025-01-01", "reference": "x"}
    read_only = bearer(approver, "read_only")
    assert read_only.get(f"{API}/proposals/{submitted.pk}").status_code == 200
    assert post(read_only, f"/proposals/{submitted.pk}/decision", decision).status_code == 403
    assert post(bearer(author, "read_only"), "/proposals", BODY).status_code == 403


def test_unknown_projects_and_sites_are_not_found(approved: Proposal, data_manager: User) -> None:
    dm = bearer(data_manager)
    signed = {"status": "signed", "signed_on": timezone.localdate().isoformat()}
    assert post(dm, "/projects/nothing/agreements/oslo", signed).status_code == 404
    assert post(dm, "/projects/amyloid/agreements/madrid", signed).status_code == 404
    not_pdf = dm.put(
        f"{API}/projects/amyloid/agreements/oslo/document", b"hello", content_type="text/plain"
    )
    assert not_pdf.status_code == 422
