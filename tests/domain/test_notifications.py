"""apply_notification: dispatch, database dedupe, outcomes, and rollback on our own failure."""

from __future__ import annotations

from typing import Any

import pytest

from antom_django.models import Capture, Notification, Payment, PaymentEvent, Refund, Source
from antom_django.services import apply_notification, dedupe_key
from antom_django.services import notifications as notifications_module
from tests.domain.conftest import SignalLog
from tests.domain.helpers import capture_result, make_payment, payment_result, refund_result, store

pytestmark = pytest.mark.django_db
P = Payment.Status
Outcome = Notification.Outcome


@pytest.fixture
def apply(django_capture_on_commit_callbacks: Any) -> Any:
    def run(notification: Notification) -> str:
        with django_capture_on_commit_callbacks(execute=True):
            return apply_notification(notification)

    return run


def test_payment_result_is_applied(apply: Any, signal_log: SignalLog) -> None:
    payment = make_payment()
    note = store(payment_result(payment))
    assert apply(note) == Outcome.APPLIED
    note.refresh_from_db()
    payment.refresh_from_db()
    assert (note.outcome, note.payment, note.notify_type) == (Outcome.APPLIED, payment, "PAYMENT_RESULT")
    assert note.dedupe_key == f"PAYMENT_RESULT:{payment.payment_id}:S:4200SGD"
    assert note.processed_at is not None
    assert payment.status == P.AUTHORIZED
    event = payment.events.get(kind=PaymentEvent.Kind.STATUS)
    assert (event.source, event.notification) == (Source.NOTIFICATION, note)
    assert signal_log.count("payment_authorized") == 1


def test_resent_notification_is_a_duplicate(apply: Any, signal_log: SignalLog) -> None:
    payment = make_payment()
    first, again = store(payment_result(payment)), store(payment_result(payment))
    assert apply(first) == Outcome.APPLIED
    assert apply(again) == Outcome.DUPLICATE
    # Bounded storage: the copy is counted on the applied row and deleted (it was kept as a DUPLICATE row).
    assert not Notification.objects.filter(pk=again.pk).exists()
    first.refresh_from_db()
    assert (first.outcome, first.received_count, first.last_received_at) == (
        Outcome.APPLIED,
        2,
        max(first.created_at, again.last_received_at),
    )
    assert signal_log.count("payment_status_changed") == 1


def test_a_row_applied_meanwhile_is_not_applied_again(apply: Any, signal_log: SignalLog) -> None:
    payment = make_payment()
    note = store(payment_result(payment))
    stale = Notification.objects.get(pk=note.pk)  # a second holder of the same row (a concurrent delivery)
    assert apply(note) == Outcome.APPLIED
    assert apply(stale) == Outcome.DUPLICATE
    note.refresh_from_db()
    assert (note.outcome, note.received_count) == (Outcome.APPLIED, 1)
    assert payment.events.filter(kind=PaymentEvent.Kind.STATUS).count() == 1
    assert signal_log.count("payment_status_changed") == 1


def test_pending_then_result_are_not_duplicates(apply: Any) -> None:
    payment = make_payment()
    assert apply(store(payment_result(payment, notify_type="PAYMENT_PENDING"))) == Outcome.APPLIED
    assert apply(store(payment_result(payment))) == Outcome.APPLIED
    payment.refresh_from_db()
    assert payment.status == P.AUTHORIZED


def test_capture_result_settles_our_capture(apply: Any, signal_log: SignalLog) -> None:
    payment = make_payment(P.AUTHORIZED)
    row = Capture.objects.create(payment=payment, amount=4200, currency="SGD")
    assert apply(store(capture_result(row))) == Outcome.APPLIED
    row.refresh_from_db()
    payment.refresh_from_db()
    assert (row.status, row.capture_id) == ("SUCCEEDED", f"CAP-{row.capture_request_id}")
    assert (payment.status, payment.captured_amount) == (P.SUCCEEDED, 4200)
    assert signal_log.count("capture_succeeded") == 1
    assert signal_log.count("payment_succeeded") == 1


def test_capture_failure(apply: Any, signal_log: SignalLog) -> None:
    payment = make_payment(P.AUTHORIZED)
    row = Capture.objects.create(payment=payment, amount=4200, currency="SGD")
    assert apply(store(capture_result(row, "F"))) == Outcome.APPLIED
    row.refresh_from_db()
    assert row.status == "FAILED"
    assert signal_log.names() == ["capture_failed"]


def test_capture_amount_mismatch_recorded_on_notification(apply: Any) -> None:
    payment = make_payment(P.AUTHORIZED)
    row = Capture.objects.create(payment=payment, amount=4200, currency="SGD")
    note = store(capture_result(row, amount=4300))
    assert apply(note) == Outcome.APPLIED
    note.refresh_from_db()
    row.refresh_from_db()
    assert "differs from ours" in note.error
    assert row.status == "PENDING"


def test_refund_result(apply: Any, signal_log: SignalLog) -> None:
    payment = make_payment(P.SUCCEEDED, captured_amount=4200)
    Capture.objects.create(payment=payment, amount=4200, currency="SGD", status="SUCCEEDED")
    row = Refund.objects.create(payment=payment, amount=4200, currency="SGD")
    assert apply(store(refund_result(row))) == Outcome.APPLIED
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == (P.REFUNDED, 4200)
    assert signal_log.count("refund_succeeded") == 1


def test_refund_failed_result(apply: Any, signal_log: SignalLog) -> None:
    payment = make_payment(P.SUCCEEDED, captured_amount=4200)
    row = Refund.objects.create(payment=payment, amount=100, currency="SGD")
    assert apply(store(refund_result(row, "FAIL"))) == Outcome.APPLIED
    row.refresh_from_db()
    assert row.status == "FAILED"
    assert signal_log.names() == ["refund_failed"]


def test_unknown_payment_does_not_claim_the_key(apply: Any) -> None:
    body = {"notifyType": "PAYMENT_RESULT", "paymentRequestId": "nope", "paymentId": "nope", "result": {}}
    note = store(body)
    assert apply(note) == Outcome.UNKNOWN_PAYMENT
    note.refresh_from_db()
    assert note.dedupe_key is None


def test_unhandled_type_is_ignored(apply: Any) -> None:
    note = store({"notifyType": "DISPUTE_CREATED"})
    assert apply(note) == Outcome.IGNORED
    note.refresh_from_db()
    assert "DISPUTE_CREATED" in note.error


@pytest.mark.parametrize("body", ["not json", "[1, 2]"])
def test_unreadable_body_is_rejected(apply: Any, body: str) -> None:
    assert apply(store(body)) == Outcome.REJECTED


def test_unverified_notification_is_never_applied(apply: Any) -> None:
    payment = make_payment()
    note = store(payment_result(payment), verified=False)
    assert apply(note) == Outcome.REJECTED
    payment.refresh_from_db()
    assert payment.status == P.PENDING


def test_our_own_failure_rolls_back_and_can_be_retried(
    apply: Any, monkeypatch: pytest.MonkeyPatch, signal_log: SignalLog
) -> None:
    payment = make_payment()
    note = store(payment_result(payment))

    def broken(change: Any, note: Any) -> None:
        notifications_module.apply_payment_message(change, note)
        change.flush()
        raise RuntimeError("database went away")

    monkeypatch.setitem(notifications_module.HANDLERS, "PAYMENT_RESULT", broken)
    with pytest.raises(RuntimeError):
        apply(note)
    note.refresh_from_db()
    payment.refresh_from_db()
    assert (note.outcome, note.dedupe_key, payment.status) == (Outcome.RECEIVED, None, P.PENDING)
    assert signal_log.names() == []
    monkeypatch.undo()
    assert apply(note) == Outcome.APPLIED
    payment.refresh_from_db()
    assert payment.status == P.AUTHORIZED


def test_dedupe_keys() -> None:
    assert dedupe_key({"notifyType": "PAYMENT_PENDING", "paymentId": "1", "result": {"resultStatus": "S"}}) == (
        "PAYMENT_PENDING:1:S:"
    )
    paid = {"notifyType": "PAYMENT_RESULT", "paymentId": "1", "paymentAmount": {"currency": "JPY", "value": "42"}}
    assert dedupe_key(paid) == "PAYMENT_RESULT:1::42JPY"
    assert dedupe_key({"notifyType": "CAPTURE_RESULT", "captureRequestId": "c", "result": {"resultStatus": "F"}}) == (
        "CAPTURE_RESULT:c:F:"
    )
    assert dedupe_key(
        {"notifyType": "REFUND_RESULT", "refundId": "r", "refundStatus": "FAIL", "result": {"resultStatus": "S"}}
    ) == ("REFUND_RESULT:r:FAIL/S:")


def test_capture_failure_after_success_is_flagged(apply: Any, signal_log: SignalLog) -> None:
    payment = make_payment(P.AUTHORIZED)
    row = Capture.objects.create(payment=payment, amount=4200, currency="SGD")
    apply(store(capture_result(row)))
    note = store(capture_result(row, "F"))
    assert apply(note) == Outcome.APPLIED
    row.refresh_from_db()
    payment.refresh_from_db()
    assert (row.status, payment.status, payment.captured_amount) == ("SUCCEEDED", P.SUCCEEDED, 4200)
    assert payment.needs_review
    note.refresh_from_db()
    assert "FAILED" in note.error
    assert signal_log.count("capture_failed") == 0
    assert signal_log.count("payment_needs_review") == 1


def test_refund_failure_after_success_is_flagged(apply: Any) -> None:
    payment = make_payment(P.SUCCEEDED, captured_amount=4200)
    Capture.objects.create(payment=payment, amount=4200, currency="SGD", status="SUCCEEDED")
    row = Refund.objects.create(payment=payment, amount=1000, currency="SGD")
    apply(store(refund_result(row)))
    apply(store(refund_result(row, "FAIL")))
    row.refresh_from_db()
    payment.refresh_from_db()
    assert (row.status, payment.refunded_amount) == ("SUCCEEDED", 1000)
    assert payment.needs_review


def test_capture_result_for_an_unknown_payment_id(apply: Any) -> None:
    body = {"notifyType": "CAPTURE_RESULT", "captureRequestId": "x", "paymentId": "nope", "result": {}}
    assert apply(store(body)) == Outcome.UNKNOWN_PAYMENT


def test_refund_beyond_the_capture_ledger_is_flagged_not_an_error(apply: Any, signal_log: SignalLog) -> None:
    # The payment's column says 4200 captured but no capture row backs it: the ledger is what the totals
    # are derived from, so a refund of 4200 would leave refunded > captured (a constraint violation).
    payment = make_payment(P.SUCCEEDED, captured_amount=4200)
    row = Refund.objects.create(payment=payment, amount=4200, currency="SGD")
    note = store(refund_result(row))
    assert apply(note) == Outcome.APPLIED
    note.refresh_from_db()
    payment.refresh_from_db()
    row.refresh_from_db()
    assert note.outcome == Outcome.APPLIED
    assert "more than captured" in note.error
    assert payment.needs_review
    assert "more than captured" in payment.review_reason
    assert (payment.status, payment.captured_amount, payment.refunded_amount) == (P.SUCCEEDED, 4200, 0)
    assert row.status == Refund.Status.PENDING
    assert payment.events.filter(kind=PaymentEvent.Kind.REVIEW).count() == 1
    assert signal_log.names() == ["payment_needs_review"]
