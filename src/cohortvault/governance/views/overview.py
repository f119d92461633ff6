"""Overview pages: what awaits my decision, my own access, everyone's membership history (for
the administrator and the data protection officer), and my notifications."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from cohortvault.access.policy import Action
from cohortvault.access.requirements import requires
from cohortvault.errors import Invalid
from cohortvault.governance import services
from cohortvault.governance.forms import HistoryFilterForm, problems
from cohortvault.governance.views.common import principal_of


@requires(action=Action.LIST, resource="requests awaiting my decision")
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    return render(
        request, "governance/queue.html", {"queue": services.queue(principal_of(request))}
    )


@requires(action=Action.READ, resource="own memberships and requests")
@require_GET
def my_access(request: HttpRequest) -> HttpResponse:
    mine = services.my_access(principal_of(request))
    return render(request, "governance/my_access.html", {"mine": mine})


@requires(action=Action.READ, resource="access_overview")
@require_GET
def membership_history(request: HttpRequest) -> HttpResponse:
    form = HistoryFilterForm(request.GET)
    if not form.is_valid():
        raise Invalid("The filter is not valid.", details=problems(form))
    username = form.cleaned_data["user"].strip()
    memberships = services.membership_history(principal_of(request), username)
    page = Paginator(memberships, 100).get_page(request.GET.get("page"))
    now = timezone.now()
    rows = [(m, services.membership_state(m, now)) for m in page]
    return render(
        request,
        "governance/membership_history.html",
        {"form": form, "page": page, "rows": rows, "username": username},
    )


@requires(action=Action.READ, resource="own notifications")
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    found = services.notifications(principal_of(request))
    page = Paginator(found, 50).get_page(request.GET.get("page"))
    return render(request, "governance/notifications.html", {"page": page})


@requires(action=Action.WRITE, resource="own notifications")
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Mark one notification read and, when asked to open it, follow its link."""
    note = services.mark_read(principal_of(request), pk)
    if (
        "open" in request.POST
        and note.link
        and url_has_allowed_host_and_scheme(note.link, allowed_hosts=None)
    ):
        return redirect(note.link)
    return redirect("governance:notifications")


@requires(action=Action.WRITE, resource="own notifications")
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponseBase:
    services.mark_all_read(principal_of(request))
    return redirect("governance:notifications")
