"""The processes of the SQLite real-flow test: the shop's orders, and shell sessions acting on payments.

Each role runs in its own ``manage.py shell`` process, as an operator would capture, refund or re-check
payments while the shop serves buyers and Antom posts notifications.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections import Counter
from typing import Any

from antom_django import services
from antom_django.adapter import AntomAdapter, OrderInfo, OrderNotFound
from antom_django.client.money import Amount
from antom_django.exceptions import PaymentError
from antom_django.models import Capture, Payment, Refund, Source

PREFIX = "flow-"
AMOUNT = 4200
CAPTURE_PART = 1400
"""Captured in three parts, by two competing processes."""
REFUND = 500


class FlowAdapter(AntomAdapter):
    """Any ``flow-<n>`` reference is a guest order of :data:`AMOUNT` SGD."""

    def resolve_order(self, request: Any, reference: str) -> OrderInfo:
        if not reference.startswith(PREFIX) or len(reference) > 32:
            raise OrderNotFound("not a flow order")
        return OrderInfo(reference_order_id=reference, amount=Amount("SGD", AMOUNT), description=f"Order {reference}")


def _captured(payment: Payment) -> int:
    """Captured or being captured: what a capturer must not ask for again."""
    rows = Capture.objects.filter(payment=payment, status__in=[Capture.Status.SUCCEEDED, Capture.Status.PENDING])
    return sum(rows.values_list("amount", flat=True))


def capture_step(payment: Payment) -> bool:
    """Capture the next part of an authorized payment; True once it is all captured."""
    if payment.status == Payment.Status.SUCCEEDED and payment.captured_amount == AMOUNT:
        return True
    if payment.status in (Payment.Status.AUTHORIZED, Payment.Status.PARTIALLY_CAPTURED):
        left = AMOUNT - _captured(payment)
        if left > 0:
            services.capture(payment, min(CAPTURE_PART, left), source=Source.API)
    return False


def refund_step(payment: Payment) -> bool:
    """Refund :data:`REFUND` once the payment is all captured; True once that refund succeeded."""
    refunds = list(Refund.objects.filter(payment=payment))
    if any(r.status == Refund.Status.SUCCEEDED for r in refunds):
        return True
    if not refunds and payment.status == Payment.Status.SUCCEEDED and payment.captured_amount == AMOUNT:
        services.refund(payment, REFUND, reason="flow test", source=Source.API)
    return False


def sync_step(payment: Payment) -> bool:
    """Ask Antom about the payment (inquiryPayment) and apply the answer; True once it is refunded."""
    services.sync_payment(payment, source=Source.POLL)
    return Refund.objects.filter(payment=payment, status=Refund.Status.SUCCEEDED).exists()


STEPS = {"capture": capture_step, "refund": refund_step, "sync": sync_step}


def act(role: str, count: int, timeout: float) -> None:
    """Apply one role's step to every flow payment until all ``count`` are done for it, then print a summary.

    A domain refusal (another process captured first, the amount left is smaller) is a race lost, counted and
    retried on the next pass; any other exception ends the process with its traceback.
    """
    step, seen = STEPS[role], Counter[str]()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        payments = list(Payment.objects.filter(reference_order_id__startswith=PREFIX).order_by("pk"))
        done = 0
        for payment in payments:
            try:
                done += step(payment)
                seen["steps"] += 1
            except PaymentError as exc:
                seen[type(exc).__name__] += 1
            except Exception:
                traceback.print_exc()
                print(json.dumps({"role": role, "error": True, **seen}), flush=True)
                sys.exit(1)
        if len(payments) == count and done == count:
            print(json.dumps({"role": role, "done": done, **seen}), flush=True)
            return
        time.sleep(0.02)
    print(json.dumps({"role": role, "timeout": True, **seen}), flush=True)
    sys.exit(2)
