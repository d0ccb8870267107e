"""The service layer against the sandbox simulator over real HTTP: capture, refund, cancel, sync, notifications."""

from __future__ import annotations

import pytest

from antom_django.client import Amount
from antom_django.models import Capture, Notification, Payment, Source
from antom_django.sandbox import SandboxServer
from antom_django.services import (
    apply_notification,
    cancel,
    capture,
    refund,
    retry_capture,
    start_payment,
    sync_payment,
)

pytestmark = pytest.mark.django_db
P = Payment.Status


def paid(sandbox: SandboxServer, card: str = "4242424242424242") -> Payment:
    payment = start_payment(amount=Amount("SGD", 4200), reference_order_id="order-9", description="Kettle")
    assert payment.status == P.PENDING
    sandbox.pay(payment.session_data, card)
    return sync_payment(payment)


def test_authorize_capture_in_parts_refund_in_parts(antom_sandbox: SandboxServer) -> None:
    payment = paid(antom_sandbox)
    assert payment.status == P.AUTHORIZED
    assert payment.payment_id
    assert payment.card_brand
    assert capture(payment, 1000, source=Source.ADMIN).status == "SUCCEEDED"
    payment.refresh_from_db()
    assert (payment.status, payment.captured_amount) == (P.PARTIALLY_CAPTURED, 1000)
    assert capture(payment).status == "SUCCEEDED"
    payment.refresh_from_db()
    assert (payment.status, payment.captured_amount) == (P.SUCCEEDED, 4200)
    assert refund(payment, 500, reason="scratch").status == "SUCCEEDED"
    assert refund(payment).status == "SUCCEEDED"
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == (P.REFUNDED, 4200)
    # Antom's own record, read back, agrees with ours: nothing new, nothing to review.
    payment = sync_payment(payment)
    assert (payment.status, payment.captured_amount, payment.refunded_amount) == (P.REFUNDED, 4200, 4200)
    assert not payment.needs_review, payment.review_reason
    assert payment.captures.count() == 2 and payment.refunds.count() == 2


def test_cancel_an_authorization(antom_sandbox: SandboxServer) -> None:
    payment = paid(antom_sandbox)
    payment = cancel(payment, source=Source.ADMIN)
    assert payment.status == P.CANCELLED
    payment = sync_payment(payment)
    assert payment.status == P.CANCELLED
    assert not payment.needs_review, payment.review_reason


def test_declined_card(antom_sandbox: SandboxServer) -> None:
    payment = paid(antom_sandbox, "4000000000000002")
    assert payment.status == P.FAILED
    assert payment.result_code


def test_unknown_capture_is_settled_with_the_same_request_id(antom_sandbox: SandboxServer) -> None:
    payment = paid(antom_sandbox)
    antom_sandbox.set_faults(unknown_rate=1.0, operations=("capture",))
    row = capture(payment)
    assert row.status == "PENDING"
    antom_sandbox.set_faults()
    assert retry_capture(row).status == "SUCCEEDED"
    payment = sync_payment(payment)
    assert (payment.status, payment.captured_amount) == (P.SUCCEEDED, 4200)
    assert Capture.objects.filter(payment=payment).count() == 1
    assert not payment.needs_review, payment.review_reason


def test_simulator_notifications_apply_once(antom_sandbox: SandboxServer) -> None:
    payment = start_payment(amount=Amount("SGD", 4200), reference_order_id="order-9", description="Kettle")
    antom_sandbox.pay(payment.session_data)
    deliveries = antom_sandbox.wait_for_notifications(1, "PAYMENT_RESULT", state=None)
    outcomes = []
    for delivery in deliveries + deliveries:  # Antom's retry delivers the same body again
        note = Notification.objects.create(
            body=delivery.body.decode(), notify_type=delivery.notify_type, signature_verified=True
        )
        outcomes.append(apply_notification(note))
    assert outcomes[0] == Notification.Outcome.APPLIED
    assert set(outcomes[1:]) == {Notification.Outcome.DUPLICATE}
    payment.refresh_from_db()
    assert payment.status == P.AUTHORIZED
