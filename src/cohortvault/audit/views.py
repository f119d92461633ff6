"""The data protection officer's audit page: filter, page through, download as CSV."""

from __future__ import annotations

import io

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from cohortvault.access.policy import Action
from cohortvault.access.requirements import requires
from cohortvault.audit import services
from cohortvault.errors import Invalid


class TrailFilterForm(forms.Form):
    actor = forms.CharField(required=False, label="User")
    action = forms.CharField(required=False, help_text="e.g. login, access, membership")
    outcome = forms.ChoiceField(
        required=False,
        choices=[("", "any"), ("ok", "ok"), ("denied", "denied"), ("failed", "failed")],
    )
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def filters(self) -> services.TrailFilter:
        if not self.is_valid():
            raise Invalid("The filter is not valid.", details=[self.errors.get_json_data()])
        return services.TrailFilter(**self.cleaned_data)


@requires(action=Action.READ, resource="audit_trail")
@require_GET
def trail(request: HttpRequest) -> HttpResponse:
    form = TrailFilterForm(request.GET or None)
    filters = form.filters() if request.GET else services.TrailFilter()
    entries = services.search(request.principal, filters)  # type: ignore[attr-defined]
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "audit/trail.html", {"form": form, "page": page, "query": query.urlencode()}
    )


@requires(action=Action.READ, resource="audit_trail")
@require_GET
def trail_csv(request: HttpRequest) -> HttpResponse:
    filters = TrailFilterForm(request.GET).filters()
    entries = services.search(request.principal, filters, purpose="csv download")  # type: ignore[attr-defined]
    buffer = io.StringIO()
    services.write_csv(entries.iterator(), buffer)
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-trail-{stamp}.csv"'
    return response
