"""Real concurrent callers on PostgreSQL: the row lock and the dedupe index keep money moving once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

from antom_django.exceptions import AmountExceeded
from antom_django.models import Capture, Notification, Payment, PaymentEvent, Refund
from antom_django.services import apply_notification, capture, refund
from tests.concurrency import race
from tests.domain.conftest import SignalLog
from tests.domain.helpers import FakeAntom, capture_answer, make_payment, payment_result, refund_answer, store

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
P = Payment.Status


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent transactions need PostgreSQL (set ANTOM_TEST_DATABASE_URL)")


def slow(build: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Antom takes a while to answer: widens the window for a race."""

    def answer(sent: dict[str, Any]) -> dict[str, Any]:
        time.sleep(0.2)
        return build(sent)

    return answer


def test_same_notification_applied_concurrently(signal_log: SignalLog) -> None:
    payment = make_payment()
    copies = [store(payment_result(payment)) for _ in range(4)]
    outcomes = race(4, lambda i: apply_notification(Notification.objects.get(pk=copies[i].pk)))
    assert sorted(outcomes) == sorted([Notification.Outcome.APPLIED] + [Notification.Outcome.DUPLICATE] * 3)
    payment.refresh_from_db()
    assert payment.status == P.AUTHORIZED
    assert payment.events.filter(kind=PaymentEvent.Kind.STATUS).count() == 1
    assert signal_log.count("payment_authorized") == 1
    assert signal_log.count("payment_status_changed") == 1
    assert Notification.objects.exclude(dedupe_key=None).count() == 1


def test_two_full_captures_race_one_wins(antom_gateway: FakeAntom, signal_log: SignalLog) -> None:
    payment = make_payment(P.AUTHORIZED)
    antom_gateway.answer("capture", slow(capture_answer("S")))
    outcomes = race(2, lambda i: capture(Payment.objects.get(pk=payment.pk)))
    captures = [o for o in outcomes if isinstance(o, Capture)]
    refused = [o for o in outcomes if isinstance(o, AmountExceeded)]
    assert (len(captures), len(refused)) == (1, 1), outcomes
    assert captures[0].status == "SUCCEEDED"
    assert len(antom_gateway.requests("capture")) == 1, "money was asked for once"
    payment.refresh_from_db()
    assert (payment.status, payment.captured_amount) == (P.SUCCEEDED, 4200)
    assert Capture.objects.count() == 1
    assert signal_log.count("capture_succeeded") == 1
    assert signal_log.count("payment_succeeded") == 1


def test_partial_captures_race_never_exceed_the_authorization(antom_gateway: FakeAntom) -> None:
    payment = make_payment(P.AUTHORIZED)
    antom_gateway.answer("capture", slow(capture_answer("S")))
    outcomes = race(3, lambda i: capture(Payment.objects.get(pk=payment.pk), 2000))
    assert sum(isinstance(o, Capture) for o in outcomes) == 2
    assert sum(isinstance(o, AmountExceeded) for o in outcomes) == 1
    payment.refresh_from_db()
    assert (payment.status, payment.captured_amount) == (P.PARTIALLY_CAPTURED, 4000)


def test_capture_racing_its_own_notification(antom_gateway: FakeAntom, signal_log: SignalLog) -> None:
    """Antom's CAPTURE_RESULT arrives while our capture call is still waiting for its answer."""
    payment = make_payment(P.AUTHORIZED)
    sent = threading.Event()

    def answer(body: dict[str, Any]) -> dict[str, Any]:
        row = Capture.objects.get(capture_request_id=body["captureRequestId"])
        note = store(
            {
                "notifyType": "CAPTURE_RESULT",
                "captureRequestId": row.capture_request_id,
                "captureId": f"CAP-{row.capture_request_id}",
                "paymentId": payment.payment_id,
                "captureAmount": {"currency": "SGD", "value": "4200"},
                "result": {"resultStatus": "S", "resultCode": "SUCCESS", "resultMessage": "success"},
            }
        )
        notifier = threading.Thread(target=lambda: (apply_notification(note), connections.close_all()))
        notifier.start()
        notifier.join(timeout=30)
        sent.set()
        return capture_answer("S")(body)

    antom_gateway.answer("capture", answer)
    row = capture(payment)
    assert sent.is_set()
    assert row.status == "SUCCEEDED"
    payment.refresh_from_db()
    assert (payment.status, payment.captured_amount) == (P.SUCCEEDED, 4200)
    assert signal_log.count("capture_succeeded") == 1
    assert signal_log.count("payment_succeeded") == 1


def test_two_full_refunds_race_one_wins(antom_gateway: FakeAntom) -> None:
    payment = make_payment(P.SUCCEEDED, captured_amount=4200)
    Capture.objects.create(payment=payment, amount=4200, currency="SGD", status="SUCCEEDED")
    antom_gateway.answer("refund", slow(refund_answer("S")))
    outcomes = race(2, lambda i: refund(Payment.objects.get(pk=payment.pk)))
    assert sum(isinstance(o, Refund) for o in outcomes) == 1
    assert sum(isinstance(o, AmountExceeded) for o in outcomes) == 1
    assert len(antom_gateway.requests("refund")) == 1
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == (P.REFUNDED, 4200)
