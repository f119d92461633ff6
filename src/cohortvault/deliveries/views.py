"""The delivery pages: a project's deliveries with the data manager's extraction form, one
delivery with its files and provenance, and the diff between two deliveries."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from cohortvault.access.policy import Action, Facility, Principal, decide
from cohortvault.access.requirements import requires
from cohortvault.deliveries import services
from cohortvault.errors import Conflict, Invalid, NotFound

SHOWN_CHANGES = 200


def _principal(request: HttpRequest) -> Principal:
    return request.principal  # type: ignore[attr-defined,no-any-return]


@requires(action=Action.LIST, resource="project area")
@require_GET
def delivery_list(request: HttpRequest, code: str) -> HttpResponse:
    principal = _principal(request)
    found = services.deliveries(principal, code)
    context = {
        "code": code,
        "deliveries": found,
        "may_extract": decide(principal, Action.WRITE, Facility.EXTRACTION).allowed,
    }
    return render(request, "deliveries/list.html", context)


@requires(action=Action.READ, resource="project area")
@require_GET
def delivery_page(request: HttpRequest, code: str, number: int) -> HttpResponse:
    info = services.delivery(_principal(request), code, number)
    context = {"info": info, "spec": json.dumps(info.spec, indent=2, ensure_ascii=False)}
    return render(request, "deliveries/delivery.html", context)


@requires(action=Action.READ, resource="project area")
@require_GET
def diff_page(request: HttpRequest, code: str) -> HttpResponseBase:
    raw_old, raw_new = request.GET.get("old", ""), request.GET.get("new", "")
    if not (raw_old.isdigit() and raw_new.isdigit()):
        raise Invalid("Name two deliveries to compare: ?old=1&new=2.")
    old, new = int(raw_old), int(raw_new)
    found = services.diff(_principal(request), code, old, new)
    if request.GET.get("format") == "csv":
        response = HttpResponse(found.to_csv(), content_type="text/csv; charset=utf-8")
        name = f"{code}-deliveries-{old}-{new}.csv"
        response["Content-Disposition"] = content_disposition_header(True, name) or ""
        return response
    context = {
        "code": code,
        "old": old,
        "new": new,
        "diff": found,
        "shown": found.to_dict(limit=SHOWN_CHANGES),
        "limit": SHOWN_CHANGES,
    }
    return render(request, "deliveries/diff.html", context)


@requires(action=Action.WRITE, resource="extraction")
@require_POST
def extract(request: HttpRequest, code: str) -> HttpResponseBase:
    principal = _principal(request)
    layout = request.POST.get("layout", "long")
    note = request.POST.get("note", "")
    try:
        raw = request.POST.get("transforms", "").strip()
        transforms = services.parse_transforms(json.loads(raw) if raw else [])
        info = services.run_extraction(
            principal, code, transforms=transforms, layout=layout, note=note
        )
    except json.JSONDecodeError as exc:
        messages.error(request, f"The transforms are not valid JSON: {exc}.")
    except (Invalid, Conflict, NotFound) as exc:
        text = exc.message + ("".join(f" · {d}" for d in exc.details) if exc.details else "")
        messages.error(request, text)
    else:
        messages.success(request, f"Delivery {info.label} is in {info.folder}/.")
        return redirect(reverse("deliveries:delivery", args=[code, info.number]))
    return redirect(reverse("deliveries:list", args=[code]))
