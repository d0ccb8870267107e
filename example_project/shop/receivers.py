"""The order's life, driven only by antom_django's signals.

Each receiver is one conditional UPDATE: the order moves only from the statuses listed for its target, so a
repeated or late signal changes nothing and an order never moves backwards (and no transaction of the shop's
own is held on SQLite while antom_django writes).
"""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver
from django.utils import timezone

from antom_django.models import Payment
from antom_django.signals import (
    capture_succeeded,
    payment_authorized,
    payment_cancelled,
    payment_failed,
    payment_succeeded,
    refund_succeeded,
)

from .models import Order

logger = logging.getLogger("shop")
S = Order.Status

MOVES_FROM: dict[str, frozenset[str]] = {
    S.AWAITING_CAPTURE: frozenset({S.AWAITING_PAYMENT, S.FAILED}),
    S.PAID: frozenset({S.AWAITING_PAYMENT, S.FAILED, S.AWAITING_CAPTURE}),
    S.SHIPPED: frozenset({S.AWAITING_PAYMENT, S.FAILED, S.AWAITING_CAPTURE, S.PAID}),
    S.FAILED: frozenset({S.AWAITING_PAYMENT}),  # the buyer may retry: a later success still moves it on
    # A void (staff, or an authorization that ran out); a session closed before anyone paid leaves it payable.
    S.CANCELLED: frozenset({S.AWAITING_CAPTURE}),
    S.REFUNDED: frozenset({S.PAID, S.SHIPPED}),
}
"""For each status an order can be moved to, the statuses it may come from."""

HOLDS_MONEY = (Payment.Status.AUTHORIZED, Payment.Status.PARTIALLY_CAPTURED, Payment.Status.SUCCEEDED)


def move(payment: Payment, to: str) -> bool:
    """Move the payment's order to ``to`` if that is forward from where it is; whether it moved."""
    moved = Order.objects.filter(number=payment.reference_order_id, status__in=MOVES_FROM[to]).update(
        status=to, updated_at=timezone.now()
    )
    if moved:
        logger.info("order %s is now %s (payment %s)", payment.reference_order_id, to, payment.payment_request_id)
    return bool(moved)


def another_payment_holds_money(payment: Payment) -> bool:
    """A failed or cancelled payment says nothing about an order that another payment of it has paid."""
    others = Payment.objects.filter(reference_order_id=payment.reference_order_id).exclude(pk=payment.pk)
    return others.filter(status__in=HOLDS_MONEY).exists()


@receiver(payment_authorized)
def hold_for_capture(sender: Any, payment: Payment, **kwargs: Any) -> None:
    move(payment, S.AWAITING_CAPTURE)


@receiver(payment_succeeded)
def mark_paid(sender: Any, payment: Payment, **kwargs: Any) -> None:
    move(payment, S.PAID)


@receiver(capture_succeeded)
def ship(sender: Any, payment: Payment, **kwargs: Any) -> None:
    move(payment, S.SHIPPED)  # the demo ships as soon as the money is captured


@receiver(payment_failed)
def mark_failed(sender: Any, payment: Payment, **kwargs: Any) -> None:
    if not another_payment_holds_money(payment):
        move(payment, S.FAILED)


@receiver(payment_cancelled)
def mark_cancelled(sender: Any, payment: Payment, **kwargs: Any) -> None:
    if not another_payment_holds_money(payment):
        move(payment, S.CANCELLED)


@receiver(refund_succeeded)
def mark_refunded(sender: Any, payment: Payment, **kwargs: Any) -> None:
    current = Payment.objects.get(pk=payment.pk)  # the totals as committed, whatever the sender's copy holds
    if current.captured_amount and current.refunded_amount >= current.captured_amount:
        move(payment, S.REFUNDED)
