"""The project lifecycle through its services: drafting, submission, the assembly's decision
with four eyes, provisioning by access requests, availability counts, agreements and what
their expiry does."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from cohortvault.access.policy import Role
from cohortvault.audit.models import AuditEntry
from cohortvault.consortium.models import Membership, Project
from cohortvault.consortium.services import principal_for_user
from cohortvault.errors import Conflict, Invalid, NotFound, PermissionDenied
from cohortvault.files import services as files
from cohortvault.governance import services as governance
from cohortvault.governance.models import AccessRequest, Notification
from cohortvault.identity.models import User
from cohortvault.projects import services
from cohortvault.projects.models import Agreement, Proposal
from cohortvault.storage.models import Blob
from tests import factories
from tests.projects.conftest import PDF, approval, person, proposal_input, signed

pytestmark = pytest.mark.django_db
P = factories.principal


def audited(action: str, outcome: str = "ok") -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, outcome=outcome))


def test_the_whole_lifecycle(
    draft: Proposal,
    author: User,
    pi: User,
    member: User,
    approver: User,
    data_manager: User,
    administrator: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    edited = services.update_proposal(
        P(author), draft.pk, proposal_input(title="Amyloid, cognition and age")
    )
    assert edited.title == "Amyloid, cognition and age" and edited.dictionary_version == 1
    services.submit_proposal(P(author), draft.pk)
    assert Notification.objects.filter(user=approver, text__contains="'amyloid'").exists()
    with pytest.raises(Conflict):  # frozen once submitted
        services.update_proposal(P(author), draft.pk, proposal_input(title="Later"))

    decided = services.decide_proposal(
        P(approver), draft.pk, approval("approved_with_conditions", conditions="Cite the cohorts.")
    )
    assert decided.state == "approved" and decided.outcome == "approved_with_conditions"
    project = Project.objects.get(code="amyloid")
    assert decided.project == project and project.status == "active"
    assert sorted(a.site.code for a in decided.agreements.all()) == ["berlin", "oslo"]
    assert {a.status for a in decided.agreements.all()} == {"pending"}
    requests = AccessRequest.objects.filter(group__project=project).order_by("subject__username")
    assert [(r.subject.username, r.requested_by, r.status) for r in requests] == [
        ("berlin-jonas", approver, "awaiting_approval"),
        ("pi-ola", approver, "awaiting_approval"),
    ]
    assert "proposal" in requests[0].reason and "GA-2025-07" in requests[0].reason
    assert not Membership.objects.filter(group__project=project).exists()  # nothing granted
    assert "amyloid" not in principal_for_user(member).projects

    services.notify_data_manager(P(approver), draft.pk, note="Two sites.")
    assert Notification.objects.filter(user=data_manager, link="/projects/amyloid/").exists()
    with pytest.raises(Conflict):
        services.notify_data_manager(P(approver), draft.pk)

    for access_request in requests:  # the administrator applies them, as for any change
        governance.decide_access_request(
            P(administrator), access_request.pk, approve=True, fresh=True
        )
    assert "amyloid" in principal_for_user(member).projects
    assert files.list_folder(principal_for_user(member), "projects/amyloid").entries == []

    _, events = services.history(P(author), draft.pk)
    assert [(e.action, e.from_state, e.to_state) for e in events] == [
        ("create", "", "draft"),
        ("edit", "draft", "draft"),
        ("submit", "draft", "submitted"),
        ("decide", "submitted", "approved"),
        ("notify_data_manager", "approved", "approved"),
    ]
    assert "Cite the cohorts." in events[3].reason and events[3].actor == approver
    for action in ("create", "edit", "submit", "decide", "notify_data_manager"):
        assert len(audited(f"projects.proposal.{action}")) == 1
    assert audited("consortium.project.create")[0].actor == "approver-olav"


@pytest.mark.parametrize("who", ["author", "pi", "member"])
def test_nobody_decides_a_proposal_they_are_on(
    submitted: Proposal, who: str, author: User, pi: User, member: User
) -> None:
    on_it = {"author": author, "pi": pi, "member": member}[who]
    factories.grant(on_it, Role.APPROVER)
    with pytest.raises(PermissionDenied):
        services.decide_proposal(P(on_it), submitted.pk, approval())
    submitted.refresh_from_db()
    assert submitted.state == "submitted" and not Project.objects.exists()
    refusal = audited("access.approve", "denied")[0]
    assert refusal.actor == on_it.username and "four eyes" in refusal.reason


def test_only_approvers_decide(
    submitted: Proposal, data_manager: User, administrator: User
) -> None:
    for someone in (data_manager, administrator):
        with pytest.raises(PermissionDenied):
            services.decide_proposal(P(someone), submitted.pk, approval())
    assert not Project.objects.exists()


def test_a_rejected_proposal_gets_no_project(submitted: Proposal, approver: User) -> None:
    with pytest.raises(Invalid) as refused:
        services.decide_proposal(P(approver), submitted.pk, approval("rejected"))
    assert "A rejection needs a reason." in refused.value.details
    rejected = services.decide_proposal(
        P(approver), submitted.pk, approval("rejected", reason="Overlaps brain-age.")
    )
    assert rejected.state == "rejected" and rejected.project is None
    assert not Project.objects.exists() and not AccessRequest.objects.exists()
    assert not Agreement.objects.exists()
    with pytest.raises(Conflict):
        services.decide_proposal(P(approver), submitted.pk, approval())


def test_conditions_meeting_date_and_reference_are_required(
    submitted: Proposal, approver: User
) -> None:
    future = timezone.localdate() + timedelta(days=3)
    with pytest.raises(Invalid) as refused:
        services.decide_proposal(
            P(approver),
            submitted.pk,
            approval("approved_with_conditions", meeting_date=future, reference=""),
        )
    assert set(refused.value.details) == {
        "An approval with conditions needs the conditions.",
        "The meeting date lies in the future.",
        "Give the reference of the decision (the minutes number).",
    }
    assert audited("projects.proposal.decide", "failed")


@pytest.mark.parametrize("how", ["deactivated", "pending"])
def test_approval_with_an_inactive_member_is_refused_with_nothing_written(
    submitted: Proposal, approver: User, member: User, how: str
) -> None:
    if how == "pending":
        member.pending = True
    member.is_active = False
    member.save()
    before = AuditEntry.objects.count()
    with pytest.raises(Invalid) as refused:
        services.decide_proposal(P(approver), submitted.pk, approval())
    assert any("berlin-jonas" in line for line in refused.value.details)
    submitted.refresh_from_db()
    assert submitted.state == "submitted" and submitted.events.count() == 2
    assert not Project.objects.exists() and not AccessRequest.objects.exists()
    assert not Agreement.objects.exists()
    entries = list(AuditEntry.objects.filter(seq__gt=before))
    assert [(e.action, e.outcome) for e in entries] == [("projects.proposal.decide", "failed")]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        (
            {"variables": ["mmse", "shoe_size"]},
            "'shoe_size' is not a variable of the data dictionary",
        ),
        ({"variables": ["subject_id"]}, "subject_id is always delivered"),
        ({"sites": ["oslo", "atlantis"]}, "There is no site 'atlantis'."),
        ({"members": ["nobody-here"]}, "There is no user 'nobody-here'."),
        ({"members": ["newcomer"]}, "newcomer has not completed their enrolment yet"),
        ({"principal_investigator": "nobody-here"}, "There is no user 'nobody-here'."),
        ({"timepoints": ["wave9"]}, "None of the requested studies has a timepoint 'wave9'."),
        ({"code": "Not A Slug"}, "The code 'Not A Slug' is not valid"),
        ({"code": "proposals"}, "reserved"),
    ],
)
def test_bad_input_is_refused_audited_and_nothing_is_written(
    consortium: None, author: User, pi: User, member: User, changes: dict[str, Any], problem: str
) -> None:
    factories.make_user("newcomer", pending=True, is_active=False)
    with pytest.raises(Invalid) as refused:
        services.create_proposal(P(author), proposal_input(**changes))
    assert any(problem in line for line in refused.value.details), refused.value.details
    assert not Proposal.objects.exists()
    entry = audited("projects.proposal.create", "failed")[0]
    assert entry.actor == "oslo-researcher" and any(problem in p for p in entry.details["problems"])


def test_a_draft_is_incomplete_until_submitted(draft: Proposal, author: User) -> None:
    services.update_proposal(P(author), draft.pk, proposal_input(variables=[], aims=""))
    with pytest.raises(Invalid) as refused:
        services.submit_proposal(P(author), draft.pk)
    assert "Request at least one variable before submitting." in refused.value.details
    assert "Describe the project's aims before submitting." in refused.value.details
    draft.refresh_from_db()
    assert draft.state == "draft"


def test_drafts_are_private_and_only_the_author_changes_a_proposal(
    draft: Proposal, author: User, pi: User, approver: User
) -> None:
    for other in (pi, approver):
        with pytest.raises(NotFound):
            services.proposal_detail(P(other), draft.pk)
        assert services.proposals(P(other)) == []
    assert audited("access.read", "denied")
    services.submit_proposal(P(author), draft.pk)
    assert services.proposal_detail(P(pi), draft.pk).may_edit is False
    assert [p.pk for p in services.proposals(P(approver), "awaiting")] == [draft.pk]
    assert services.proposals(P(pi), "awaiting") == []
    with pytest.raises(PermissionDenied):
        services.withdraw_proposal(P(pi), draft.pk)
    outsider = person("outsider")
    with pytest.raises(NotFound):
        services.proposal_detail(P(outsider), draft.pk)


def test_the_author_withdraws_an_undecided_proposal(submitted: Proposal, author: User) -> None:
    withdrawn = services.withdraw_proposal(P(author), submitted.pk, reason="Merged into another.")
    assert withdrawn.state == "withdrawn"
    again = services.create_proposal(P(author), proposal_input())  # the code is free again
    services.submit_proposal(P(author), again.pk)


def test_one_live_proposal_per_code(submitted: Proposal, author: User) -> None:
    second = services.create_proposal(P(author), proposal_input(title="Same code"))
    with pytest.raises(Conflict):
        services.submit_proposal(P(author), second.pk)


def test_availability_counts_subjects_and_suppresses_small_ones(
    draft: Proposal, author: User
) -> None:
    table = {row.site: row for row in services.availability(P(author), draft.pk)}
    assert table["oslo"].shown == "6" and table["oslo"].count == 6
    assert table["oslo"].sources == ("study v1",)
    assert table["berlin"].shown == "fewer than 5" and table["berlin"].count is None
    both = proposal_input(timepoints=["wave1", "wave2"])
    services.update_proposal(P(author), draft.pk, both)
    assert services.availability(P(author), draft.pk)[1].shown == "7"  # oslo, sorted by code
    other = proposal_input(variables=["hippocampus_ml"])
    services.update_proposal(P(author), draft.pk, other)
    assert {r.shown for r in services.availability(P(author), draft.pk)} == {"fewer than 5"}
    assert audited("projects.availability")


def test_availability_without_data(oslo: Any, author: User, pi: User, member: User) -> None:
    import json

    from cohortvault.catalog import services as catalog
    from tests.projects.conftest import SCHEMA

    dm = person("dm2", Role.DATA_MANAGER)
    catalog.import_dictionary(P(dm), json.dumps(SCHEMA).encode(), format="json")
    draft = services.create_proposal(P(author), proposal_input(sites=["oslo"]))
    assert [r.shown for r in services.availability(P(author), draft.pk)] == ["no data yet"]


def test_agreements_block_extraction_until_every_site_has_a_valid_one(
    approved: Proposal, data_manager: User
) -> None:
    assert services.extraction_blockers("amyloid") == [
        "The agreement with site berlin is pending, not signed.",
        "The agreement with site oslo is pending, not signed.",
    ]
    services.record_agreement(P(data_manager), "amyloid", "oslo", signed())
    assert services.extraction_blockers("amyloid") == [
        "The agreement with site berlin is pending, not signed."
    ]
    yesterday = timezone.localdate() - timedelta(days=1)
    with pytest.raises(Invalid) as refused:
        services.record_agreement(P(data_manager), "amyloid", "berlin", signed(yesterday))
    assert "Its expiry has passed: record it as expired." in refused.value.details
    services.record_agreement(P(data_manager), "amyloid", "berlin", signed(timezone.localdate()))
    assert services.extraction_blockers("amyloid") == []
    tomorrow = timezone.localdate() + timedelta(days=1)
    assert services.extraction_blockers("amyloid", today=tomorrow) == [
        f"The agreement with site berlin expired on {timezone.localdate()}."
    ]
    assert len(audited("projects.agreement.record")) == 2
    with pytest.raises(NotFound):
        services.extraction_blockers("no-such-project")


def test_grant_is_what_was_approved(approved: Proposal) -> None:
    granted = services.grant("amyloid")
    assert granted == services.Grant(
        proposal=approved.pk,
        project="amyloid",
        variables=("mmse",),
        sites=("oslo", "berlin"),
        studies=("study",),
        timepoints=("wave1",),
        datasets=(("berlin", "study"), ("oslo", "study")),
    )
    with pytest.raises(NotFound):
        services.grant("brain-age")  # made directly, without a proposal
    factories.make_project("brain-age")
    with pytest.raises(NotFound):
        services.grant("brain-age")


def test_only_data_managers_record_agreements(
    approved: Proposal, pi: User, approver: User, administrator: User
) -> None:
    for someone in (pi, approver, administrator):
        with pytest.raises(PermissionDenied):
            services.record_agreement(P(someone), "amyloid", "oslo", signed())
        with pytest.raises(PermissionDenied):
            services.store_document(P(someone), "amyloid", "oslo", filename="x.pdf", content=PDF)
    assert {a.status for a in Agreement.objects.all()} == {"pending"}
    assert len(audited("access.write", "denied")) == 6


def test_agreement_documents_are_encrypted_and_unreadable_to_project_members(
    approved: Proposal, data_manager: User, administrator: User, pi: User, member: User
) -> None:
    stored = services.store_document(
        P(data_manager), "amyloid", "oslo", filename="C:\\scans\\oslo-dta.pdf", content=PDF
    )
    assert stored.filename == "oslo-dta.pdf" and stored.blob.purpose == "agreement"
    assert Blob.objects.get(pk=stored.blob.pk).size == len(PDF)
    for reader in (data_manager, administrator):
        download = services.read_document(P(reader), "amyloid", "oslo")
        assert b"".join(download.chunks) == PDF and download.filename == "oslo-dta.pdf"
    factories.grant(pi, Role.PROJECT_MEMBER, project=approved.project)
    for someone in (pi, member):
        with pytest.raises(PermissionDenied):
            services.read_document(P(someone), "amyloid", "oslo")
    assert audited("access.read", "denied")
    with pytest.raises(Invalid) as refused:
        services.store_document(P(data_manager), "amyloid", "oslo", filename="x.pdf", content=b"MZ")
    assert "The signed agreement must be a PDF file." in refused.value.details
    with pytest.raises(NotFound):
        services.read_document(P(data_manager), "amyloid", "berlin")
    listing = files.list_folder(principal_for_user(data_manager), "logs")
    assert all("pdf" not in e.name for e in listing.entries)


def test_an_expired_agreement_closes_the_project_at_the_next_request(
    approved: Proposal,
    data_manager: User,
    administrator: User,
    member: User,
    pi: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    for access_request in AccessRequest.objects.all():
        governance.decide_access_request(
            P(administrator), access_request.pk, approve=True, fresh=True
        )
    today = timezone.localdate()
    services.record_agreement(P(data_manager), "amyloid", "oslo", signed(today))
    services.record_agreement(P(data_manager), "amyloid", "berlin", signed())
    before = principal_for_user(member)
    files.make_folder(before, "projects/amyloid/analysis")

    assert services.enforce_agreements() == []  # valid through its expiry day
    closed = services.enforce_agreements(now=timezone.now() + timedelta(days=1))
    assert closed == [
        f"Project amyloid closed: The transfer agreement with site oslo expired on {today}."
    ]
    assert Project.objects.get(code="amyloid").status == "closed"
    assert Agreement.objects.get(site__code="oslo").status == "expired"
    after = principal_for_user(member)
    assert "amyloid" not in after.projects
    with pytest.raises(NotFound):
        files.list_folder(after, "projects/amyloid")
    with pytest.raises(NotFound):
        files.list_folder(before, "projects/amyloid")  # the old principal is still checked
    for user in (member, pi, data_manager):
        assert Notification.objects.filter(user=user, text__contains="was closed").exists()
    approved.refresh_from_db()
    assert approved.state == "closed"
    event = approved.events.last()
    assert event is not None and event.action == "close" and event.actor_name == "system"
    assert services.extraction_blockers("amyloid")[0] == "Project amyloid is closed."
    assert services.enforce_agreements(now=timezone.now() + timedelta(days=2)) == []


def test_the_garbage_collection_enforces_agreements(approved: Proposal, data_manager: User) -> None:
    from cohortvault.storage import maintenance

    yesterday = timezone.localdate() - timedelta(days=1)
    Agreement.objects.filter(site__code="oslo").update(status="signed", expires_on=yesterday)
    assert services.purge_expired_agreements in maintenance._purgers
    report = maintenance.collect_garbage()
    assert report.purged["projects closed (agreement expired)"] == 1
    assert Project.objects.get(code="amyloid").status == "closed"


def test_the_administrator_closes_a_project(
    approved: Proposal, administrator: User, data_manager: User
) -> None:
    with pytest.raises(PermissionDenied):
        services.close_project(P(data_manager), "amyloid", reason="Done.")
    with pytest.raises(Invalid):
        services.close_project(P(administrator), "amyloid", reason="  ")
    services.close_project(P(administrator), "amyloid", reason="The project ended.")
    assert Project.objects.get(code="amyloid").status == "closed"
    assert audited("consortium.project.close")[0].reason == "The project ended."
    with pytest.raises(Conflict):
        services.close_project(P(administrator), "amyloid", reason="Again.")
