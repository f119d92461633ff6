"""Proposal pages: the list with its tabs, the form to draft and edit, one proposal with its
availability table and the approver's decision form, and its history."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cohortvault.access.policy import Action, Principal
from cohortvault.access.requirements import requires
from cohortvault.errors import CohortvaultError, Conflict, Invalid, NotFound
from cohortvault.projects import services
from cohortvault.projects.forms import DecisionForm, NoteForm, ProposalForm, ReasonForm, problems

TABS = {
    services.View.MINE: "Mine",
    services.View.AWAITING: "Awaiting a decision",
    services.View.ALL: "All I may see",
}
INPUT_ERRORS = (Invalid, Conflict, NotFound)


def principal_of(request: HttpRequest) -> Principal:
    return request.principal  # type: ignore[attr-defined,no-any-return]


def error_lines(exc: CohortvaultError) -> list[str]:
    return [exc.message, *(str(d) for d in exc.details)]


@requires(action=Action.LIST, resource="proposals")
@require_GET
def proposal_list(request: HttpRequest) -> HttpResponse:
    raw = request.GET.get("view", services.View.MINE.value)
    tab = services.View(raw) if raw in services.View._value2member_map_ else services.View.MINE
    found = services.proposals(principal_of(request), tab)
    context = {"proposals": found, "tab": tab.value, "tabs": {k.value: v for k, v in TABS.items()}}
    return render(request, "projects/list.html", context)


def _form_page(
    request: HttpRequest,
    form: ProposalForm,
    *,
    proposal: services.ProposalDetail | None = None,
    errors: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "form": form,
        "choices": form.choices,
        "selected": form.selected(),
        "detail": proposal,
        "errors": errors or [],
    }
    return render(request, "projects/proposal_form.html", context, status=status)


@requires(action=Action.WRITE, resource="proposal")
@require_http_methods(["GET", "POST"])
def proposal_new(request: HttpRequest) -> HttpResponse | HttpResponseBase:
    """Draft a proposal; any account may."""
    choices = services.choices()
    if request.method == "GET":
        initial = {"principal_investigator": principal_of(request).username}
        return _form_page(request, ProposalForm(initial=initial, choices=choices))
    form = ProposalForm(request.POST, choices=choices)
    if not form.is_valid():
        return _form_page(request, form, errors=problems(form), status=422)
    try:
        created = services.create_proposal(principal_of(request), form.data_for_service())
    except INPUT_ERRORS as exc:
        return _form_page(request, form, errors=error_lines(exc), status=exc.status)
    messages.success(request, "Draft saved. Check the availability below, then submit it.")
    return redirect("projects:proposal", created.pk)


@requires(action=Action.WRITE, resource="proposal")
@require_http_methods(["GET", "POST"])
def proposal_edit(request: HttpRequest, pk: int) -> HttpResponse | HttpResponseBase:
    """Change a draft (its author)."""
    detail = services.proposal_detail(principal_of(request), pk)
    choices = services.choices()
    if request.method == "GET":
        return _form_page(
            request, ProposalForm.of(detail.proposal, choices=choices), proposal=detail
        )
    form = ProposalForm(request.POST, choices=choices)
    if not form.is_valid():
        return _form_page(request, form, proposal=detail, errors=problems(form), status=422)
    try:
        services.update_proposal(principal_of(request), pk, form.data_for_service())
    except INPUT_ERRORS as exc:
        return _form_page(
            request, form, proposal=detail, errors=error_lines(exc), status=exc.status
        )
    messages.success(request, "Draft saved.")
    return redirect("projects:proposal", pk)


def _page(
    request: HttpRequest, pk: int, form: DecisionForm | None = None, errors: list[str] | None = None
) -> HttpResponse:
    principal = principal_of(request)
    detail = services.proposal_detail(principal, pk)
    context = {
        "detail": detail,
        "proposal": detail.proposal,
        "availability": services.availability(principal, pk),
        "small_count": services.SMALL_COUNT,
        "form": form or DecisionForm(),
        "note_form": NoteForm(),
        "withdraw_form": ReasonForm(),
        "errors": errors or [],
    }
    return render(request, "projects/proposal.html", context, status=422 if errors else 200)


@requires(action=Action.READ, resource="proposal")
@require_GET
def proposal_page(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, pk)


@requires(action=Action.WRITE, resource="proposal")
@require_POST
def proposal_submit(request: HttpRequest, pk: int) -> HttpResponseBase:
    try:
        services.submit_proposal(principal_of(request), pk)
    except INPUT_ERRORS as exc:
        return _page(request, pk, errors=error_lines(exc))
    messages.success(request, "Submitted: the general assembly decides next.")
    return redirect("projects:proposal", pk)


@requires(action=Action.WRITE, resource="proposal")
@require_POST
def proposal_withdraw(request: HttpRequest, pk: int) -> HttpResponseBase:
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.withdraw_proposal(principal_of(request), pk, reason=reason)
    except INPUT_ERRORS as exc:
        return _page(request, pk, errors=error_lines(exc))
    messages.success(request, "Proposal withdrawn.")
    return redirect("projects:proposal", pk)


@requires(action=Action.APPROVE, resource="proposal")
@require_POST
def proposal_decide(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Record the general assembly's decision (an approver not named on the proposal)."""
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _page(request, pk, form, problems(form))
    decision = services.DecisionInput(**form.cleaned_data)
    try:
        decided = services.decide_proposal(principal_of(request), pk, decision)
    except INPUT_ERRORS as exc:
        return _page(request, pk, form, error_lines(exc))
    text = f"Recorded: {decided.get_outcome_display()}."
    if decided.project is not None:
        text += " The project exists; its people's access requests await the administrator."
    messages.success(request, text)
    return redirect("projects:proposal", pk)


@requires(action=Action.APPROVE, resource="proposal")
@require_POST
def proposal_notify(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The knowledge-management committee's notice to the data managers."""
    form = NoteForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        services.notify_data_manager(principal_of(request), pk, note=note)
    except INPUT_ERRORS as exc:
        return _page(request, pk, errors=error_lines(exc))
    messages.success(request, "The data managers were notified.")
    return redirect("projects:proposal", pk)


@requires(action=Action.READ, resource="proposal")
@require_GET
def proposal_history(request: HttpRequest, pk: int) -> HttpResponse:
    proposal, events = services.history(principal_of(request), pk)
    return render(request, "projects/history.html", {"proposal": proposal, "events": events})
