"""QR codes for enrolment, as data URIs the page can show under a strict CSP."""

from __future__ import annotations

import segno


def qr_data_uri(content: str) -> str:
    return str(segno.make(content, error="m").svg_data_uri(scale=4, border=2))
