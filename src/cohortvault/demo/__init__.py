"""A synthetic consortium for the demo instance: sites, studies, waves, projects, and users in
every role, each with a password and an enrolled authenticator (see ``build``).

This module itself needs no database, so ``cohortvault demo-otp`` works without opening the
instance.
"""

from __future__ import annotations

import base64
import time

from django_otp.oath import TOTP

CREDENTIALS_FILE = "demo-credentials.json"


def current_code(base32_secret: str, at: float | None = None) -> str:
    """The RFC 6238 code an authenticator app would show now for this secret."""
    padded = base32_secret + "=" * (-len(base32_secret) % 8)
    totp = TOTP(base64.b32decode(padded), step=30, t0=0, digits=6)
    totp.time = time.time() if at is None else at
    return f"{totp.token():06d}"
