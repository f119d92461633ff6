"""Demo proposals at every stage, made through the project services as the people involved:

- ``amyloid-cognition`` (Oslo, Aarhus): approved, access granted, both agreements signed with
  their documents: extraction may run;
- ``hippocampal-ageing`` (Oslo, Uppsala, Berlin): approved with conditions; Berlin's agreement
  is still pending, so extraction is blocked, and its people's access awaits the administrator;
- ``social-media-use``: rejected by the general assembly;
- ``sleep-and-memory``: a draft of guest-nora's.

Run after the demo's datasets exist (``demo.imports``), so availability counts are real.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from cohortvault.access.policy import Principal
from cohortvault.consortium.services import principal_for_user
from cohortvault.governance import services as governance
from cohortvault.governance.models import AccessRequest
from cohortvault.projects import services
from cohortvault.projects.models import Proposal


def _principal(username: str) -> Principal:
    return principal_for_user(get_user_model().objects.get(username=username))


def pdf(text: str) -> bytes:
    """A one-page PDF saying ``text`` (a stand-in for a scanned, signed agreement)."""
    stream = f"BT /F1 14 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _proposal(author: str, data: services.ProposalInput) -> Proposal:
    created = services.create_proposal(_principal(author), data)
    services.submit_proposal(_principal(author), created.pk)
    return created


def _decide(proposal: Proposal, outcome: str, meeting: date, reference: str, **text: str) -> None:
    decision = services.DecisionInput(
        outcome=outcome, meeting_date=meeting, reference=reference, **text
    )
    services.decide_proposal(_principal("approver-olav"), proposal.pk, decision)


def _sign(code: str, site: str, signed_on: date, *, document: bool = True) -> None:
    dm = _principal("dm-anna")
    expires = signed_on + timedelta(days=3 * 365)
    agreement = services.AgreementInput(status="signed", signed_on=signed_on, expires_on=expires)
    services.record_agreement(dm, code, site, agreement)
    if document:
        content = pdf(f"Data transfer agreement: {site} - project {code}, signed {signed_on}")
        services.store_document(dm, code, site, filename=f"{code}-{site}-dta.pdf", content=content)


def populate() -> dict[str, int]:
    """Create the demo proposals; returns how many there are in each state."""
    today = timezone.localdate()
    amyloid = _proposal(
        "oslo-kari",
        services.ProposalInput(
            title="Amyloid-related cognitive decline in Nordic cohorts",
            code="amyloid-cognition",
            principal_investigator="oslo-kari",
            aims="Compare MMSE and MoCA trajectories between Oslo and Aarhus participants.",
            members=["aarhus-mette"],
            variables=["mmse", "moca", "age_at_visit", "education_years"],
            sites=["oslo", "aarhus"],
            studies=["ageing", "dmc"],
            timepoints=["wave1", "wave2", "visit1", "visit2"],
        ),
    )
    _decide(amyloid, "approved", today - timedelta(days=40), "GA-2025-03 §4")
    services.notify_data_manager(_principal("approver-olav"), amyloid.pk)
    admin = _principal("admin")
    for request in AccessRequest.objects.filter(group__project__code="amyloid-cognition"):
        governance.decide_access_request(admin, request.pk, approve=True, fresh=True)
    _sign("amyloid-cognition", "oslo", today - timedelta(days=30))
    _sign("amyloid-cognition", "aarhus", today - timedelta(days=25))

    hippocampus = _proposal(
        "uppsala-lars",
        services.ProposalInput(
            title="Hippocampal ageing and memory",
            code="hippocampal-ageing",
            principal_investigator="multi-ingrid",
            aims="Relate hippocampal volumes to delayed recall across three imaging sites.",
            members=["uppsala-lars", "berlin-jonas"],
            variables=["hippocampus_left_ml", "hippocampus_right_ml", "word_recall_delayed"],
            sites=["oslo", "uppsala", "berlin"],
            studies=["ageing", "uls", "bbs"],
            timepoints=["wave1", "baseline", "t0"],
            modalities=["T1w", "FLAIR"],
        ),
    )
    _decide(
        hippocampus,
        "approved_with_conditions",
        today - timedelta(days=10),
        "GA-2025-05 §2",
        conditions="Only defaced structural scans; publish with all three sites as co-authors.",
    )
    services.notify_data_manager(
        _principal("approver-olav"), hippocampus.pk, note="Berlin's agreement is still with legal."
    )
    _sign("hippocampal-ageing", "oslo", today - timedelta(days=5))
    _sign("hippocampal-ageing", "uppsala", today - timedelta(days=3), document=False)

    rejected = _proposal(
        "madrid-lucia",
        services.ProposalInput(
            title="Social media use and cognition",
            code="social-media-use",
            principal_investigator="madrid-lucia",
            aims="Study social media use as a predictor of cognitive scores.",
            variables=["mmse"],
            sites=["madrid"],
            studies=["mhc"],
            timepoints=["v1"],
        ),
    )
    _decide(
        rejected,
        "rejected",
        today - timedelta(days=10),
        "GA-2025-05 §3",
        reason="No cohort collects social media use; resubmit once a site does.",
    )

    services.create_proposal(
        _principal("guest-nora"),
        services.ProposalInput(
            title="Sleep and memory",
            code="sleep-and-memory",
            principal_investigator="guest-nora",
            aims="Draft: which cohorts record sleep?",
            variables=["word_recall_immediate"],
            sites=["uppsala"],
        ),
    )
    counts: dict[str, int] = {}
    for state in Proposal.objects.values_list("state", flat=True):
        counts[state] = counts.get(state, 0) + 1
    return counts
