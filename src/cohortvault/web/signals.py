"""Stamp every new session with its login time, whichever path logged the user in."""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from cohortvault.web.middleware import LAST_SEEN, LOGIN_AT


@receiver(user_logged_in)
def stamp_session(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        now = time.time()
        request.session[LOGIN_AT] = now
        request.session[LAST_SEEN] = now
