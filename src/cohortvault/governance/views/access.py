"""Access change pages: anyone's request to add someone to a group or remove them, its
decisions (an approver's for exporters and data managers, then the administrator's), and
withdrawal by the requester."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from cohortvault.access.policy import Action
from cohortvault.access.requirements import requires
from cohortvault.errors import NotAuthenticated
from cohortvault.governance import services
from cohortvault.governance.forms import (
    AccessRequestForm,
    DecisionForm,
    parse_group_key,
    problems,
)
from cohortvault.governance.views.common import (
    INPUT_ERRORS,
    error_lines,
    principal_of,
    reauthenticate,
)
from cohortvault.identity.reauthentication import reauthentication_url
from cohortvault.web.freshness import is_fresh


@requires(action=Action.WRITE, resource="access request")
@require_http_methods(["GET", "POST"])
def access_new(request: HttpRequest) -> HttpResponse:
    principal = principal_of(request)
    initial = {"username": request.GET.get("user") or principal.username}
    if request.GET.get("group"):
        initial["group"] = request.GET["group"]
    if request.GET.get("operation") in ("add", "remove"):
        initial["operation"] = request.GET["operation"]
    form = AccessRequestForm(request.POST or None, initial=initial, groups=services.group_choices())
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                access_request = services.request_access_change(
                    principal,
                    username=data["username"].strip(),
                    group=parse_group_key(data["group"]),
                    operation=data["operation"],
                    reason=data["reason"],
                    valid_until=form.end_of_valid_until(),
                )
            except INPUT_ERRORS as exc:
                errors, status = error_lines(exc), exc.status
            else:
                messages.success(request, "Access change requested.")
                return redirect("governance:access-request", access_request.pk)
        else:
            errors, status = problems(form), 422
    return render(
        request, "governance/access_form.html", {"form": form, "errors": errors}, status=status
    )


def _detail_page(
    request: HttpRequest, pk: int, form: DecisionForm | None = None, status: int = 200
) -> HttpResponse:
    detail = services.access_request_detail(principal_of(request), pk)
    return render(
        request,
        "governance/access_detail.html",
        {
            "detail": detail,
            "access_request": detail.access_request,
            "form": form or DecisionForm(),
            "errors": problems(form) if form is not None else [],
            "fresh": is_fresh(request),
            "reauthenticate_url": reauthentication_url(request, request.path),
        },
        status=status,
    )


@requires(action=Action.READ, resource="access request")
@require_http_methods(["GET"])
def access_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail_page(request, pk)


@requires(action=Action.APPROVE, resource="access request")
@require_http_methods(["GET", "POST"])
def access_decide(request: HttpRequest, pk: int) -> HttpResponseBase:
    if request.method == "GET":  # e.g. back from re-authentication
        return redirect("governance:access-request", pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, pk, form, status=422)
    try:
        decided = services.decide_access_request(
            principal_of(request),
            pk,
            approve=form.approve,
            reason=form.cleaned_data["reason"],
            reference=form.cleaned_data["reference"],
            fresh=is_fresh(request),
        )
    except NotAuthenticated:
        return reauthenticate(request)
    messages.success(request, f"Recorded: the request is now {decided.get_status_display()}.")
    return redirect("governance:access-request", pk)


@requires(action=Action.WRITE, resource="own access request")
@require_POST
def access_withdraw(request: HttpRequest, pk: int) -> HttpResponseBase:
    services.withdraw_access_request(principal_of(request), pk)
    messages.success(request, "Request withdrawn.")
    return redirect("governance:access-request", pk)
