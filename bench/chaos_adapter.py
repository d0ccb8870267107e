"""The example shop's adapter with a per-payment capture decision (:func:`bench.chaos_plan.capture_plan`), for
bench/chaos.py."""

from __future__ import annotations

from typing import Any

from bench.chaos_plan import AUTO_LATER, AUTO_NOW, LATER_SECONDS, capture_plan
from shop.payments import ShopAdapter


class ChaosAdapter(ShopAdapter):
    def capture_delay(self, payment: Any) -> bool | float:
        plan = capture_plan(payment.payment_request_id)
        return True if plan == AUTO_NOW else LATER_SECONDS if plan == AUTO_LATER else False
