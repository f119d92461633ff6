"""The ticket pages: the tickets one may see, the "Report a data error" form (pre-filled from
the page an error was seen on), and one ticket with its history, attachments, comment and
attach forms, and for the data manager the state change and the correction forms.

Each view parses its input, calls ``tickets.services`` (which checks the policy and audits),
and renders the result. The correction forms post to the ``corrections`` pages.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cohortvault.access.policy import Action, Facility, Principal, decide
from cohortvault.access.requirements import requires
from cohortvault.corrections import services as corrections
from cohortvault.errors import CohortvaultError, Conflict, Invalid
from cohortvault.files.forms import hold_in_memory
from cohortvault.projects import services as projects
from cohortvault.tickets import services

#: A form post carries the attachment plus a little form data around it.
UPLOAD_LIMIT = services.MAX_ATTACHMENT_SIZE + 64 * 1024
STATES = {key: str(label) for key, label in services.State.choices}
ATTACHMENT_TOO_LARGE = f"An attachment may be at most {UPLOAD_LIMIT // 2**20} MiB."
FILTERS = {
    "active": "Active",
    "closed": "Closed",
    **{k: v.capitalize() for k, v in STATES.items()},
    "all": "All",
}
FIELDS = ("site", "study", "subject_id", "timepoint", "found_in", "title", "description")


def _principal(request: HttpRequest) -> Principal:
    return request.principal  # type: ignore[attr-defined,no-any-return]


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[\s,;]+", text) if w]


def _error_text(exc: CohortvaultError) -> str:
    return exc.message + "".join(f" · {d}" for d in exc.details)


# --- the list ----------------------------------------------------------------------------------


@requires(action=Action.LIST, resource="ticket")
@require_GET
def ticket_list(request: HttpRequest) -> HttpResponse:
    principal = _principal(request)
    state = request.GET.get("state", "active")
    site = request.GET.get("site", "")
    mine = request.GET.get("mine") == "1"
    found = services.list_tickets(
        principal, state=None if state == "all" else state, site=site or None, mine=mine
    )
    context = {
        "tickets": found,
        "state": state,
        "site": site,
        "mine": mine,
        "filters": FILTERS,
        "sites": projects.choices().sites,
        # the data manager's links (re-deliveries, withdrawals); their services decide again
        "may_extract": decide(principal, Action.WRITE, Facility.EXTRACTION).allowed,
    }
    return render(request, "tickets/list.html", context)


# --- reporting ---------------------------------------------------------------------------------


def _values(data: QueryDict, known: set[str]) -> dict[str, Any]:
    """The form's values from a pre-filling query or a posted form: the variables the
    dictionary knows are ticked in the list, any others typed in the text field."""
    given = [*data.getlist("variable"), *data.getlist("variables"), data.get("variables_text", "")]
    named = [name for raw in given for name in _words(raw)]
    values: dict[str, Any] = {name: data.get(name, "").strip() for name in FIELDS}
    values["variables"] = [n for n in named if n in known]
    values["variables_text"] = ", ".join(dict.fromkeys(n for n in named if n not in known))
    return values


def _report_page(
    request: HttpRequest, data: QueryDict, *, refusal: Invalid | Conflict | None = None
) -> HttpResponse:
    choices = projects.choices()
    known = {v.name for variables in choices.domains.values() for v in variables}
    context = {
        "choices": choices,
        "values": _values(data, known),
        "refusal": refusal,
        "limit": services.MAX_ATTACHMENT_SIZE,
    }
    return render(request, "tickets/report.html", context, status=422 if refusal else 200)


@requires(action=Action.WRITE, resource="ticket")
@csrf_exempt  # the CSRF check reads the body, which must first get the memory-only handler
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponseBase:
    if request.method == "GET":
        return _report_page(request, request.GET)
    hold_in_memory(request, UPLOAD_LIMIT, ATTACHMENT_TOO_LARGE)
    return _report(request)


@csrf_protect
def _report(request: HttpRequest) -> HttpResponseBase:
    principal = _principal(request)
    data = request.POST
    try:
        info = services.report(
            principal,
            variables=data.getlist("variables") + _words(data.get("variables_text", "")),
            **{name: data.get(name, "") for name in FIELDS},
        )
    except (Invalid, Conflict) as exc:
        return _report_page(request, data, refusal=exc)
    messages.success(request, f"Reported ticket {info.number}; the data manager is told.")
    upload = request.FILES.get("attachment")
    if upload is not None:
        try:
            services.attach(
                principal,
                info.number,
                name=upload.name or "attachment",
                source=upload,
                size=upload.size,
                content_type=upload.content_type or "application/octet-stream",
            )
        except CohortvaultError as exc:  # the ticket stands; say why its attachment does not
            messages.error(request, f"The attachment was not stored: {_error_text(exc)}")
    return redirect(reverse("tickets:ticket", args=[info.number]))


# --- one ticket --------------------------------------------------------------------------------


@requires(action=Action.READ, resource="ticket")
@require_GET
def ticket_page(request: HttpRequest, number: int) -> HttpResponse:
    principal = _principal(request)
    info = services.get(principal, number)
    may_triage = services.may_triage(principal, info)
    found = corrections.corrections(principal, ticket=number)
    history = [
        (event, STATES.get(event.old_state, ""), STATES.get(event.new_state, ""))
        for event in info.events
    ]
    context = {
        "info": info,
        "history": history,
        "states": STATES,
        "may_triage": may_triage,
        "may_correct": may_triage
        and info.state not in (services.State.WONT_FIX, services.State.DUPLICATE),
        "corrections": found,
        "readable": {c.id for c in found},  # link only the corrections one may open
        "limit": services.MAX_ATTACHMENT_SIZE,
    }
    return render(request, "tickets/ticket.html", context)


def _back(number: int, anchor: str) -> HttpResponseBase:
    return redirect(reverse("tickets:ticket", args=[number]) + f"#{anchor}")


@requires(action=Action.WRITE, resource="ticket")
@require_POST
def comment(request: HttpRequest, number: int) -> HttpResponseBase:
    try:
        services.comment(_principal(request), number, request.POST.get("text", ""))
    except (Invalid, Conflict) as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, "Your comment is in the ticket's history.")
    return _back(number, "history")


@requires(action=Action.WRITE, resource="ticket")
@csrf_exempt  # the CSRF check reads the body, which must first get the memory-only handler
@require_POST
def attach(request: HttpRequest, number: int) -> HttpResponseBase:
    hold_in_memory(request, UPLOAD_LIMIT, ATTACHMENT_TOO_LARGE)
    return _attach(request, number)


@csrf_protect
def _attach(request: HttpRequest, number: int) -> HttpResponseBase:
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise Invalid("Choose a file to attach.")
        found = services.attach(
            _principal(request),
            number,
            name=upload.name or "attachment",
            source=upload,
            size=upload.size,
            content_type=upload.content_type or "application/octet-stream",
        )
    except (Invalid, Conflict) as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, f"Attached {found.name}.")
    return _back(number, "attachments")


@requires(action=Action.READ, resource="ticket")
@require_GET
def attachment(request: HttpRequest, number: int, attachment_id: int) -> StreamingHttpResponse:
    found = services.attachment(_principal(request), number, attachment_id)
    response = StreamingHttpResponse(found.chunks, content_type="application/octet-stream")
    response["Content-Length"] = str(found.size)
    response["Content-Disposition"] = content_disposition_header(True, found.name) or ""
    return response


@requires(action=Action.APPROVE, resource="ticket")
@require_POST
def change_state(request: HttpRequest, number: int) -> HttpResponseBase:
    raw_duplicate = request.POST.get("duplicate_of", "").strip().lstrip("#")
    try:
        if raw_duplicate and not (raw_duplicate.isascii() and raw_duplicate.isdigit()):
            raise Invalid("Name the duplicated ticket by its number.")
        info = services.change_state(
            _principal(request),
            number,
            request.POST.get("state", ""),
            reason=request.POST.get("reason", ""),
            duplicate_of=int(raw_duplicate) if raw_duplicate else None,
        )
    except (Invalid, Conflict) as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, f"Ticket {number} is now {info.state_label}.")
    return _back(number, "history")
