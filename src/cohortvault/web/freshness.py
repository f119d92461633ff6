"""How recently this session gave a second factor, for actions that need a fresh one.

Every successful second factor (at sign-in, at enrolment, on the re-authentication page)
stamps the session; sensitive services are told whether the stamp is recent enough
(``reauthentication_seconds``).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.http import HttpRequest

VERIFIED_AT = "cohortvault_verified_at"


def mark_verified(request: HttpRequest) -> None:
    request.session[VERIFIED_AT] = time.time()


def is_fresh(request: HttpRequest) -> bool:
    stamp = float(request.session.get(VERIFIED_AT, 0))
    return time.time() - stamp <= settings.COHORTVAULT_REAUTHENTICATION_SECONDS
