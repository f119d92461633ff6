"""Reading one's own notifications and marking them read."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from cohortvault.access.policy import Principal
from cohortvault.errors import NotFound
from cohortvault.governance.models import Notification
from cohortvault.governance.services.common import actor_id


def notifications(principal: Principal, *, unread_only: bool = False) -> QuerySet[Notification]:
    """The principal's notifications, newest first."""
    found = Notification.objects.filter(user_id=actor_id(principal)).order_by("-created_at", "-id")
    return found.filter(read_at__isnull=True) if unread_only else found


def mark_read(principal: Principal, notification_id: int) -> Notification:
    """Mark one of the principal's notifications read; anyone else's looks missing."""
    note = notifications(principal).filter(pk=notification_id).first()
    if note is None:
        raise NotFound()
    if note.read_at is None:
        note.read_at = timezone.now()
        note.save(update_fields=["read_at"])
    return note


def mark_all_read(principal: Principal) -> int:
    """Mark every unread notification of the principal read; returns how many there were."""
    return int(notifications(principal, unread_only=True).update(read_at=timezone.now()))
