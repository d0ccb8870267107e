"""Which payments of bench/chaos.py are captured automatically and which by hand: a function of the payment
request id alone, so the adapter (in the shop's processes) and the bench's driver agree without asking."""

from __future__ import annotations

import hashlib

AUTO_NOW = "auto"
AUTO_LATER = "auto-later"
BY_HAND = "by-hand"
LATER_SECONDS = 1.5


def capture_plan(payment_request_id: str) -> str:
    """30 % captured at once, 15 % after :data:`LATER_SECONDS`, the rest held (captured, cancelled by hand)."""
    bucket = int(hashlib.sha256(payment_request_id.encode()).hexdigest()[:8], 16) % 100
    return AUTO_NOW if bucket < 30 else AUTO_LATER if bucket < 45 else BY_HAND
