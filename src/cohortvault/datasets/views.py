"""The dataset pages: the datasets one may read, a dataset's versions, one version (its facts,
columns and first rows) with its downloads, and the difference between two versions.

Each view parses its input, calls ``datasets.services`` (which checks the policy and audits),
and renders the result.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from cohortvault.access.policy import Action, Principal
from cohortvault.access.requirements import requires
from cohortvault.datasets import services
from cohortvault.datasets.api import DiffFormat, attachment, diff_response, export_response
from cohortvault.datasets.formats import ExportFormat
from cohortvault.errors import Invalid, NotFound

RESOURCE = "site dataset"
FORMATS = [f.value for f in ExportFormat]


def _principal(request: HttpRequest) -> Principal:
    return request.principal  # type: ignore[attr-defined,no-any-return]


def _number(request: HttpRequest, name: str) -> int:
    raw = request.GET.get(name, "")
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise Invalid(f"Choose the {name} version to compare (a version number).")
    return int(raw)


def _shown(value: Any) -> str:
    return "" if value is None else str(value)


@requires(action=Action.READ, resource=RESOURCE)
@require_GET
def dataset_list(request: HttpRequest) -> HttpResponse:
    found = services.datasets(_principal(request))
    return render(request, "datasets/list.html", {"datasets": found})


@requires(action=Action.READ, resource=RESOURCE)
@require_GET
def version_log(request: HttpRequest, site: str, study: str) -> HttpResponse:
    versions = services.log(_principal(request), site, study)
    if not versions:
        raise NotFound(f"The dataset {site}/{study} has no versions yet.")
    context = {
        "site": site,
        "study": study,
        "versions": versions,
        "latest": versions[0],
        "numbers": [v.number for v in versions],
        "previous": versions[1].number if len(versions) > 1 else None,
    }
    return render(request, "datasets/log.html", context)


@requires(action=Action.READ, resource=RESOURCE)
@require_GET
def version_page(request: HttpRequest, site: str, study: str, number: int) -> HttpResponse:
    shown = services.preview(_principal(request), site, study, number)
    names = [str(f["name"]) for f in shown.fields]
    context = {
        "site": site,
        "study": study,
        "info": shown.info,
        "fields": shown.fields,
        "names": names,
        "rows": [[_shown(row.get(name)) for name in names] for row in shown.rows],
        "formats": FORMATS,
        "preview_rows": services.PREVIEW_ROWS,
    }
    return render(request, "datasets/version.html", context)


@requires(action=Action.READ, resource=RESOURCE)
@require_GET
def export_download(
    request: HttpRequest, site: str, study: str, number: int, fmt: str
) -> StreamingHttpResponse:
    found = services.export(_principal(request), site, study, number, format=fmt)
    return export_response(found)


@requires(action=Action.READ, resource=RESOURCE)
@require_GET
def diff_page(request: HttpRequest, site: str, study: str) -> HttpResponse:
    old, new = _number(request, "old"), _number(request, "new")
    found = services.diff(_principal(request), site, study, old, new)
    shown = found.to_dict(limit=services.PAGE_LIMIT)
    context = {
        "site": site,
        "study": study,
        "diff": shown,
        "totals": found.totals,
        "limit": services.PAGE_LIMIT,
        "formats": [f.value for f in DiffFormat],
    }
    return render(request, "datasets/diff.html", context)


@requires(action=Action.READ, resource=RESOURCE)
@require_GET
def diff_download(request: HttpRequest, site: str, study: str, fmt: str) -> HttpResponseBase:
    try:
        chosen = DiffFormat(fmt)
    except ValueError:
        raise NotFound() from None
    old, new = _number(request, "old"), _number(request, "new")
    response = diff_response(services.diff(_principal(request), site, study, old, new), chosen)
    if chosen is DiffFormat.JSON:
        name = f"{site}-{study}-v{old}-v{new}-diff.json"
        response["Content-Disposition"] = attachment(name)
    return response
