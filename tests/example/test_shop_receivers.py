"""The order's life from antom_django's signals: real payments on the simulator, forward only, idempotent."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from antom_django import services
from antom_django.models import Payment, Source
from antom_django.signals import payment_authorized, payment_cancelled, payment_failed, payment_succeeded
from shop.models import Order, Product

from .conftest import buy

S = Order.Status
# Signals are sent after commit; the products of the data migration are put back after each flush.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def pay(client: Client, sandbox: Any, order: Order, card: str = "4242424242424242") -> Payment:
    """Open a session as the buyer, pay it on the simulator and let the server learn the result by inquiry."""
    response = client.post(
        "/antom/sessions/", json.dumps({"referenceOrderId": order.number}), content_type="application/json"
    )
    assert response.status_code == 201, response.json()
    sandbox.pay(response.json()["paymentSessionData"], card)
    return services.sync_payment(Payment.objects.get(payment_request_id=response.json()["paymentRequestId"]))


def status(order: Order) -> str:
    order.refresh_from_db()
    return order.status


def test_authorized_then_captured_then_refunded(kettle: Product, buyer: Client, no_notifications: Any) -> None:
    order = buy(buyer)

    payment = pay(buyer, no_notifications, order)
    assert status(order) == S.AWAITING_CAPTURE

    services.capture(payment, source=Source.ADMIN)  # payment_succeeded and capture_succeeded, in either order
    assert status(order) == S.SHIPPED

    services.refund(Payment.objects.get(pk=payment.pk), 1000)
    assert status(order) == S.SHIPPED  # a partial refund
    services.refund(Payment.objects.get(pk=payment.pk))
    assert status(order) == S.REFUNDED


def test_a_decline_then_a_retry_with_a_new_session(kettle: Product, buyer: Client, no_notifications: Any) -> None:
    order = buy(buyer)

    declined = pay(buyer, no_notifications, order, "4000000000000002")
    assert (declined.status, status(order)) == (Payment.Status.FAILED, S.FAILED)

    approved = pay(buyer, no_notifications, order)
    assert approved.pk != declined.pk
    assert status(order) == S.AWAITING_CAPTURE


def test_a_void_cancels_the_order(kettle: Product, buyer: Client, no_notifications: Any) -> None:
    order = buy(buyer)
    payment = pay(buyer, no_notifications, order)

    services.cancel(payment)

    assert status(order) == S.CANCELLED


def test_signals_again_change_nothing_and_never_move_an_order_back(
    kettle: Product, buyer: Client, no_notifications: Any
) -> None:
    order = buy(buyer)
    payment = pay(buyer, no_notifications, order)
    services.capture(payment)
    assert status(order) == S.SHIPPED

    for signal in (payment_authorized, payment_succeeded, payment_failed, payment_cancelled):
        signal.send(sender=Payment, payment=payment, source=Source.NOTIFICATION)
        assert status(order) == S.SHIPPED, signal


def test_a_late_failure_of_another_payment_leaves_a_held_order(
    kettle: Product, buyer: Client, no_notifications: Any
) -> None:
    order = buy(buyer)
    pay(buyer, no_notifications, order)
    stale = Payment.objects.create(
        amount=4200, currency="SGD", reference_order_id=order.number, status=Payment.Status.CANCELLED
    )

    payment_cancelled.send(sender=Payment, payment=stale, source=Source.SWEEP)
    payment_failed.send(sender=Payment, payment=stale, source=Source.SWEEP)

    assert status(order) == S.AWAITING_CAPTURE


def test_a_session_closed_before_anyone_paid_leaves_the_order_payable(
    kettle: Product, buyer: Client, no_notifications: Any
) -> None:
    order = buy(buyer)
    abandoned = Payment.objects.create(
        amount=4200, currency="SGD", reference_order_id=order.number, status=Payment.Status.CANCELLED
    )

    payment_cancelled.send(sender=Payment, payment=abandoned, source=Source.SWEEP)

    assert status(order) == S.AWAITING_PAYMENT


def test_notifications_move_the_order_through_the_real_endpoint(
    kettle: Product, buyer: Client, antom_sandbox: Any, live_server: Any, settings: Any
) -> None:
    settings.ANTOM = {**settings.ANTOM, "NOTIFY_URL": f"{live_server.url}/antom/notify/"}
    order = buy(buyer)
    response = buyer.post(
        "/antom/sessions/", json.dumps({"referenceOrderId": order.number}), content_type="application/json"
    )

    antom_sandbox.pay(response.json()["paymentSessionData"])
    antom_sandbox.wait_for_notifications(1, "PAYMENT_RESULT")

    assert status(order) == S.AWAITING_CAPTURE
    assert Payment.objects.get().status == Payment.Status.AUTHORIZED
