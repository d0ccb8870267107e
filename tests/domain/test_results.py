"""apply_payment_result: every transition from a notification or an inquiry, refusals, mismatches, signals."""

from __future__ import annotations

from typing import Any

import pytest

from antom_django.models import Capture, Payment, PaymentEvent, Refund, Source
from antom_django.services import apply_payment_result
from tests.domain.conftest import SignalLog
from tests.domain.helpers import antom_id, inquiry, make_payment, payment_result, transaction

pytestmark = pytest.mark.django_db
P = Payment.Status


@pytest.fixture
def apply(django_capture_on_commit_callbacks: Any) -> Any:
    """apply_payment_result with on-commit callbacks (signals) run, as after a real commit."""

    def run(payment: Payment, data: dict[str, Any], source: str = Source.NOTIFICATION) -> Payment:
        with django_capture_on_commit_callbacks(execute=True):
            return apply_payment_result(payment, data, source=source)

    return run


def test_pending_notification_is_processing_not_success(apply: Any, signal_log: SignalLog) -> None:
    payment = make_payment()
    payment = apply(payment, payment_result(payment, notify_type="PAYMENT_PENDING"))
    assert payment.status == P.PROCESSING
    assert signal_log.names() == ["payment_status_changed"]


def test_authorization_success(apply: Any, signal_log: SignalLog) -> None:
    payment = make_payment()
    payment = apply(payment, payment_result(payment))
    assert payment.status == P.AUTHORIZED
    assert payment.payment_id == antom_id(payment)
    assert (payment.card_brand, payment.card_last4, payment.card_funding) == ("VISA", "4242", "CREDIT")
    assert payment.captured_amount == 0
    assert signal_log.names() == ["payment_status_changed", "payment_authorized"]
    event = payment.events.get(kind=PaymentEvent.Kind.STATUS)
    assert (event.from_status, event.to_status, event.source) == (P.PENDING, P.AUTHORIZED, Source.NOTIFICATION)


def test_non_authorization_success_is_captured_by_antom(apply: Any, signal_log: SignalLog) -> None:
    payment = make_payment(is_authorization=False)
    payment = apply(payment, payment_result(payment))
    assert payment.status == P.SUCCEEDED
    assert payment.captured_amount == 4200
    capture = payment.captures.get()
    assert (capture.origin, capture.status, capture.amount) == (Capture.Origin.AUTOMATIC, "SUCCEEDED", 4200)
    assert sorted(signal_log.names()) == ["capture_succeeded", "payment_status_changed", "payment_succeeded"]


def test_failure(apply: Any, signal_log: SignalLog) -> None:
    payment = make_payment()
    failed = payment_result(payment, "F")
    failed["result"]["resultCode"] = "CARD_DECLINED"
    payment = apply(payment, failed)
    assert payment.status == P.FAILED
    assert payment.result_code == "CARD_DECLINED"
    assert "payment_failed" in signal_log.names()


def test_inquiry_cancelled(apply: Any, signal_log: SignalLog) -> None:
    payment = make_payment(P.PROCESSING)
    payment = apply(payment, inquiry(payment, "CANCELLED"), Source.POLL)
    assert payment.status == P.CANCELLED
    assert payment.events.get(kind=PaymentEvent.Kind.STATUS).source == Source.POLL
    assert "payment_cancelled" in signal_log.names()


@pytest.mark.parametrize(
    ("antom_status", "ours"),
    [("SUCCESS", P.AUTHORIZED), ("FAIL", P.FAILED), ("PROCESSING", P.PROCESSING), ("PENDING", P.PROCESSING)],
)
def test_inquiry_statuses(apply: Any, antom_status: str, ours: str) -> None:
    payment = make_payment()
    assert apply(payment, inquiry(payment, antom_status), Source.POLL).status == ours


def test_same_fact_twice_changes_nothing(apply: Any, signal_log: SignalLog) -> None:
    payment = make_payment()
    apply(payment, payment_result(payment))
    events = PaymentEvent.objects.count()
    payment = apply(payment, payment_result(payment))
    assert payment.status == P.AUTHORIZED
    assert PaymentEvent.objects.count() == events
    assert signal_log.count("payment_authorized") == 1


def test_older_fact_after_newer_changes_nothing(apply: Any, signal_log: SignalLog) -> None:
    payment = make_payment()
    apply(payment, payment_result(payment))
    payment = apply(payment, payment_result(payment, notify_type="PAYMENT_PENDING"))
    assert payment.status == P.AUTHORIZED
    assert not payment.needs_review
    assert signal_log.count("payment_status_changed") == 1


def test_contradiction_is_flagged_not_applied(apply: Any, signal_log: SignalLog) -> None:
    payment = make_payment(P.FAILED)
    payment = apply(payment, payment_result(payment))
    assert payment.status == P.FAILED
    assert payment.needs_review
    assert "AUTHORIZED" in payment.review_reason
    assert signal_log.names() == ["payment_needs_review"]


def test_failed_after_cancelled_is_not_a_contradiction(apply: Any) -> None:
    payment = make_payment(P.CANCELLED)
    payment = apply(payment, payment_result(payment, "F"))
    assert payment.status == P.CANCELLED
    assert not payment.needs_review


@pytest.mark.parametrize(
    ("amount", "currency"), [(4201, "SGD"), (420000, "SGD"), (4200, "USD"), (4200, "JPY")], ids=str
)
def test_amount_or_currency_mismatch_is_flagged_and_not_applied(
    apply: Any, signal_log: SignalLog, amount: int, currency: str
) -> None:
    payment = make_payment()
    payment = apply(payment, payment_result(payment, amount=amount, currency=currency))
    assert payment.status == P.PENDING
    assert payment.needs_review
    assert "differs from ours 42.00 SGD" in payment.review_reason
    assert payment.payment_id == ""
    review = payment.events.get(kind=PaymentEvent.Kind.REVIEW)
    assert review.detail["told"] == P.AUTHORIZED
    assert signal_log.names() == ["payment_needs_review"]
    # The same bad message again neither adds a second reason nor a second event.
    apply(payment, payment_result(payment, amount=amount, currency=currency))
    assert payment.events.filter(kind=PaymentEvent.Kind.REVIEW).count() == 1


def test_other_payment_id_is_flagged(apply: Any) -> None:
    payment = make_payment(P.PROCESSING, payment_id="2024PAY0001")
    payment = apply(payment, payment_result(payment, payment_id="2024OTHER"))
    assert payment.status == P.PROCESSING
    assert payment.needs_review


def test_inquiry_transactions_settle_captures_and_refunds(apply: Any, signal_log: SignalLog) -> None:
    payment = make_payment(P.AUTHORIZED)
    ours = Capture.objects.create(payment=payment, amount=1000, currency="SGD")
    answer = inquiry(
        payment,
        "SUCCESS",
        transactions=[
            transaction("CAPTURE", ours.capture_request_id, 1000),
            transaction("CAPTURE", "dashboard-capture", 3200),
            transaction("REFUND", "dashboard-refund", 500),
        ],
    )
    payment = apply(payment, answer, Source.POLL)
    assert payment.status == P.SUCCEEDED
    assert (payment.captured_amount, payment.refunded_amount) == (4200, 500)
    ours.refresh_from_db()
    assert (ours.status, ours.capture_id) == ("SUCCEEDED", f"TX-{ours.capture_request_id}")
    adopted = payment.captures.get(capture_request_id="dashboard-capture")
    assert adopted.origin == Capture.Origin.AUTOMATIC
    assert payment.refunds.get().refund_request_id == "dashboard-refund"
    assert signal_log.count("capture_succeeded") == 2
    assert signal_log.count("payment_succeeded") == 1
    assert signal_log.count("refund_succeeded") == 1
    # Polling the same answer again changes nothing.
    events = PaymentEvent.objects.count()
    apply(payment, answer, Source.POLL)
    assert PaymentEvent.objects.count() == events


def test_inquiry_failed_and_processing_transactions(apply: Any) -> None:
    payment = make_payment(P.AUTHORIZED)
    failing = Capture.objects.create(payment=payment, amount=4200, currency="SGD")
    apply(
        payment,
        inquiry(payment, "SUCCESS", transactions=[transaction("CAPTURE", failing.capture_request_id, 4200, "U")]),
    )
    failing.refresh_from_db()
    assert failing.status == "PENDING"
    apply(
        payment,
        inquiry(payment, "SUCCESS", transactions=[transaction("CAPTURE", failing.capture_request_id, 4200, "F")]),
    )
    failing.refresh_from_db()
    payment.refresh_from_db()
    assert failing.status == "FAILED"
    assert (payment.status, payment.captured_amount) == (P.AUTHORIZED, 0)
    # A failed capture we never asked for moved no money and adds no row.
    apply(payment, inquiry(payment, "SUCCESS", transactions=[transaction("CAPTURE", "stranger", 100, "F")]))
    assert payment.captures.count() == 1


def test_inquiry_void_transaction_cancels(apply: Any) -> None:
    payment = make_payment(P.AUTHORIZED)
    payment = apply(payment, inquiry(payment, "SUCCESS", transactions=[transaction("VOID", "", 4200)]), Source.SWEEP)
    assert payment.status == P.CANCELLED


def test_capture_amount_mismatch_in_transactions_is_flagged(apply: Any) -> None:
    payment = make_payment(P.AUTHORIZED)
    row = Capture.objects.create(payment=payment, amount=1000, currency="SGD")
    payment = apply(
        payment, inquiry(payment, "SUCCESS", transactions=[transaction("CAPTURE", row.capture_request_id, 1200)])
    )
    row.refresh_from_db()
    assert row.status == "PENDING"
    assert payment.needs_review and "Capture" in payment.review_reason


def test_adopted_capture_beyond_the_authorization_is_flagged(apply: Any) -> None:
    payment = make_payment(P.AUTHORIZED)
    payment = apply(payment, inquiry(payment, "SUCCESS", transactions=[transaction("CAPTURE", "x", 5000)]))
    assert payment.captures.count() == 0
    assert payment.needs_review


def test_refund_beyond_captured_is_flagged(apply: Any) -> None:
    payment = make_payment(P.SUCCEEDED, captured_amount=4200)
    Capture.objects.create(payment=payment, amount=4200, currency="SGD", status="SUCCEEDED")
    row = Refund.objects.create(payment=payment, amount=4200, currency="SGD")
    Refund.objects.filter(pk=row.pk).update(amount=5000)
    payment = apply(
        payment, inquiry(payment, "SUCCESS", transactions=[transaction("REFUND", row.refund_request_id, 5000)])
    )
    assert payment.refunded_amount == 0
    assert payment.needs_review


def test_clearing_a_review_keeps_the_reason_in_the_timeline(apply: Any) -> None:
    from antom_django.services import clear_review

    payment = make_payment()
    payment = apply(payment, payment_result(payment, amount=1))
    payment = clear_review(payment, note="customer paid the difference by bank transfer")
    assert (payment.needs_review, payment.review_reason) == (False, "")
    cleared = payment.events.filter(kind=PaymentEvent.Kind.REVIEW).last()
    assert cleared is not None
    assert cleared.source == Source.ADMIN
    assert "differs from ours" in cleared.detail["cleared"]
    assert clear_review(payment).needs_review is False
