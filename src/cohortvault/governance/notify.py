"""In-app notifications, each also sent by e-mail through Django's mail settings.

E-mails go out after the transaction commits, so a decision that rolls back sends nothing, and
a mail server that is down never undoes a decision (the failure is logged).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction

from cohortvault.access.policy import Role
from cohortvault.consortium.models import Membership
from cohortvault.governance.models import Notification

logger = logging.getLogger(__name__)


def notify(user: Any, text: str, *, link: str = "") -> Notification:
    note = Notification.objects.create(user=user, text=text[:500], link=link)
    if user.email:
        address, url = user.email, f"{settings.COHORTVAULT_SITE_URL}{link}"
        # One line: a line break from a requester's text would make Django refuse the header.
        subject = " ".join(f"[cohortvault] {text}".split())[:94]

        def send() -> None:
            try:
                send_mail(subject, f"{text}\n\n{url}\n",
                          settings.DEFAULT_FROM_EMAIL, [address])  # fmt: skip
            except Exception:
                logger.exception("could not e-mail a notification to %s", address)

        transaction.on_commit(send)
    return note


def holders_of(role: Role) -> Iterable[Any]:
    users = Membership.objects.active().filter(group__role=role.value).values("user_id")
    return get_user_model().objects.filter(pk__in=users, is_active=True)


def notify_role(
    role: Role, text: str, *, link: str = "", exclude: str = "", also_exclude: str = ""
) -> int:
    """Notify everyone holding ``role``, except the people the request is by or about."""
    sent = 0
    for user in holders_of(role):
        if user.get_username() not in (exclude, also_exclude):
            notify(user, text, link=link)
            sent += 1
    return sent


def unread(user: Any) -> int:
    return int(Notification.objects.filter(user=user, read_at__isnull=True).count())
