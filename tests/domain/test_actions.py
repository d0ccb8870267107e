"""start_payment, capture, cancel, refund and sync against a signed fake Antom (``responses``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from antom_django.client import Amount, AntomOutcomeUnknown
from antom_django.exceptions import (
    AmountExceeded,
    GatewayRefused,
    InvalidAmount,
    InvalidTransition,
    PaymentSessionError,
)
from antom_django.models import Capture, Payment, PaymentEvent, Refund, Source
from antom_django.services import (
    cancel,
    capture,
    refund,
    retry_capture,
    retry_refund,
    retry_session,
    session_is_usable,
    start_payment,
    sync_payment,
)
from tests.client.helpers import result
from tests.domain.conftest import SignalLog, run_on_commit_callbacks
from tests.domain.helpers import FakeAntom, capture_answer, inquiry, make_payment, refund_answer, transaction

pytestmark = pytest.mark.django_db
P = Payment.Status


@pytest.fixture
def signal_log(signal_log: SignalLog) -> SignalLog:
    """The shared recorder, made to run first what the test's transaction would run on commit."""

    class Committed(SignalLog):
        def names(self) -> list[str]:
            run_on_commit_callbacks()
            return signal_log.names()

    log = Committed()
    log.sent = signal_log.sent
    return log


def session_answer(sent: dict[str, Any]) -> dict[str, Any]:
    return {
        "result": result("S"),
        "paymentSessionData": "SESSION-DATA",
        "paymentSessionId": "SESSION-ID",
        "paymentSessionExpiryTime": "2099-01-01T00:00:00+08:00",
    }


# -- start_payment --------------------------------------------------------------


def test_start_payment(antom_gateway: FakeAntom, signal_log: SignalLog) -> None:
    antom_gateway.answer("createPaymentSession", session_answer)
    payment = start_payment(amount=Amount("SGD", 4200), reference_order_id="order-7", description="Tea")
    assert payment.status == P.PENDING
    assert (payment.session_id, payment.session_data) == ("SESSION-ID", "SESSION-DATA")
    assert payment.session_expires_at is not None
    assert "paymentSessionData" not in payment.session_response
    sent = antom_gateway.requests("createPaymentSession")[0]
    assert sent["paymentRequestId"] == payment.payment_request_id
    assert sent["paymentAmount"] == {"currency": "SGD", "value": "4200"}
    assert sent["paymentFactor"] == {"isAuthorization": True}
    assert sent["paymentNotifyUrl"] == "https://shop.example.com/antom/notify/"
    assert signal_log.names() == ["payment_status_changed"]


def test_start_payment_refused(antom_gateway: FakeAntom, signal_log: SignalLog) -> None:
    antom_gateway.answer("createPaymentSession", {"result": result("F", "PARAM_ILLEGAL")})
    with pytest.raises(PaymentSessionError, match="PARAM_ILLEGAL") as info:
        start_payment(amount=Amount("SGD", 4200), reference_order_id="order-7", description="Tea")
    payment = Payment.objects.get()
    assert info.value.payment == payment
    assert (payment.status, payment.result_code) == (P.FAILED, "PARAM_ILLEGAL")
    assert "payment_failed" in signal_log.names()


def test_start_payment_unknown_then_retry_with_the_same_id(antom_gateway: FakeAntom) -> None:
    antom_gateway.answer("createPaymentSession", {"result": result("U")})
    with pytest.raises(AntomOutcomeUnknown):
        start_payment(amount=Amount("SGD", 4200), reference_order_id="order-7", description="Tea")
    payment = Payment.objects.get()
    assert payment.status == P.INITIATED
    assert payment.events.filter(kind=PaymentEvent.Kind.OUTCOME_UNKNOWN).exists()
    antom_gateway.answer("createPaymentSession", session_answer)
    payment = retry_session(payment)
    assert payment.status == P.PENDING
    ids = {body["paymentRequestId"] for body in antom_gateway.requests("createPaymentSession")}
    assert ids == {payment.payment_request_id}
    with pytest.raises(InvalidTransition):
        retry_session(payment)


@pytest.mark.parametrize("amount", [Amount("SGD", 0), 4200])
def test_start_payment_needs_a_positive_amount(amount: Any) -> None:
    with pytest.raises(InvalidAmount):
        start_payment(amount=amount, reference_order_id="order-7", description="Tea")
    assert not Payment.objects.exists()


# -- capture --------------------------------------------------------------------


def test_full_capture(antom_gateway: FakeAntom, signal_log: SignalLog) -> None:
    payment = make_payment(P.AUTHORIZED)
    antom_gateway.answer("capture", capture_answer("S"))
    row = capture(payment, source=Source.ADMIN)
    assert (row.status, row.amount, row.capture_id) == ("SUCCEEDED", 4200, f"CAP-{row.capture_request_id}")
    payment.refresh_from_db()
    assert (payment.status, payment.captured_amount) == (P.SUCCEEDED, 4200)
    sent = antom_gateway.requests("capture")[0]
    assert sent == {
        "captureRequestId": row.capture_request_id,
        "paymentId": payment.payment_id,
        "captureAmount": {"currency": "SGD", "value": "4200"},
    }
    assert signal_log.count("capture_succeeded") == 1
    assert signal_log.count("payment_succeeded") == 1
    assert {e.source for e in payment.events.all()} == {Source.ADMIN}


def test_capture_answer_writes_the_payment_row_once(antom_gateway: FakeAntom) -> None:
    payment = make_payment(P.AUTHORIZED)
    antom_gateway.answer("capture", capture_answer("S"))
    with CaptureQueriesContext(connection) as queries:
        capture(payment)
    table = connection.ops.quote_name(Payment._meta.db_table)
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(f"UPDATE {table} ")]
    assert len(updates) == 1, "the captured total and the status move in one UPDATE"
    payment.refresh_from_db()
    assert (payment.status, payment.captured_amount) == (P.SUCCEEDED, 4200)


def test_partial_captures(antom_gateway: FakeAntom) -> None:
    payment = make_payment(P.AUTHORIZED)
    antom_gateway.answer("capture", capture_answer("S"))
    capture(payment, 1000)
    payment.refresh_from_db()
    assert (payment.status, payment.captured_amount) == (P.PARTIALLY_CAPTURED, 1000)
    with pytest.raises(AmountExceeded, match="only 3200"):
        capture(payment, 3201)
    capture(payment)
    payment.refresh_from_db()
    assert (payment.status, payment.captured_amount) == (P.SUCCEEDED, 4200)


def test_last_partial_capture(antom_gateway: FakeAntom) -> None:
    payment = make_payment(P.AUTHORIZED)
    antom_gateway.answer("capture", capture_answer("S"))
    capture(payment, 1000, final=True)
    payment.refresh_from_db()
    assert (payment.status, payment.captured_amount) == (P.SUCCEEDED, 1000)
    assert antom_gateway.requests("capture")[0]["isLastCapture"] is True


def test_capture_failed(antom_gateway: FakeAntom, signal_log: SignalLog) -> None:
    payment = make_payment(P.AUTHORIZED)
    antom_gateway.answer("capture", {"result": result("F", "AUTH_EXPIRED")})
    row = capture(payment)
    assert (row.status, row.result_code) == ("FAILED", "AUTH_EXPIRED")
    payment.refresh_from_db()
    assert (payment.status, payment.captured_amount) == (P.AUTHORIZED, 0)
    assert signal_log.names() == ["capture_failed"]


def test_capture_unknown_stays_pending_and_blocks_a_second_capture(antom_gateway: FakeAntom) -> None:
    payment = make_payment(P.AUTHORIZED)
    antom_gateway.answer("capture", {"result": result("U")})
    row = capture(payment)
    assert row.status == "PENDING"
    assert payment.events.filter(kind=PaymentEvent.Kind.OUTCOME_UNKNOWN, capture=row).exists()
    with pytest.raises(AmountExceeded, match="nothing left"):
        capture(payment)
    antom_gateway.answer("capture", capture_answer("S"))
    row = retry_capture(row)
    assert row.status == "SUCCEEDED"
    ids = {body["captureRequestId"] for body in antom_gateway.requests("capture")}
    assert ids == {row.capture_request_id}, "the retry reuses the request id"


def test_capture_transport_error_stays_pending(antom_gateway: FakeAntom) -> None:
    payment = make_payment(P.AUTHORIZED)
    antom_gateway.answer("capture", {"result": result("S")}, status=503)
    assert capture(payment).status == "PENDING"


@pytest.mark.parametrize("status", [P.PENDING, P.PROCESSING, P.FAILED, P.CANCELLED, P.SUCCEEDED, P.REFUNDED])
def test_capture_refused_unless_authorized(status: str) -> None:
    payment = make_payment(status)
    with pytest.raises(InvalidTransition, match=f"is {status}"):
        capture(payment)
    assert not Capture.objects.exists()


def test_capture_refused_after_auth_expiry() -> None:
    payment = make_payment(P.AUTHORIZED, auth_expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(InvalidTransition, match="expired"):
        capture(payment)


@pytest.mark.parametrize("amount", [0, -5, 10.5, True])
def test_capture_needs_a_positive_int(amount: Any) -> None:
    with pytest.raises(InvalidAmount):
        capture(make_payment(P.AUTHORIZED), amount)


# -- cancel ---------------------------------------------------------------------


def test_cancel_authorization(antom_gateway: FakeAntom, signal_log: SignalLog) -> None:
    payment = make_payment(P.AUTHORIZED)
    antom_gateway.answer("cancel", {"result": result("S"), "paymentId": payment.payment_id})
    payment = cancel(payment, source=Source.ADMIN)
    assert payment.status == P.CANCELLED
    payment.refresh_from_db()
    assert payment.cancel_requested_at is None, "no cancel is in flight once it happened"
    assert antom_gateway.requests("cancel") == [{"paymentId": payment.payment_id}]
    assert "payment_cancelled" in signal_log.names()
    assert cancel(payment).status == P.CANCELLED, "cancelling twice is harmless"
    assert len(antom_gateway.requests("cancel")) == 1


def test_cancel_refused(antom_gateway: FakeAntom) -> None:
    payment = make_payment(P.AUTHORIZED)
    antom_gateway.answer("cancel", {"result": result("F", "CANCEL_WINDOW_EXCEED")})
    with pytest.raises(GatewayRefused, match="CANCEL_WINDOW_EXCEED"):
        cancel(payment)
    payment.refresh_from_db()
    assert (payment.status, payment.cancel_requested_at) == (P.AUTHORIZED, None)


def test_cancel_unknown_blocks_captures(antom_gateway: FakeAntom) -> None:
    payment = make_payment(P.AUTHORIZED)
    antom_gateway.answer("cancel", {"result": result("U")})
    with pytest.raises(AntomOutcomeUnknown):
        cancel(payment)
    payment.refresh_from_db()
    assert payment.status == P.AUTHORIZED
    with pytest.raises(InvalidTransition, match="cancel"):
        capture(payment)


def test_cancel_refused_once_captured(antom_gateway: FakeAntom) -> None:
    payment = make_payment(P.AUTHORIZED)
    Capture.objects.create(payment=payment, amount=100, currency="SGD")
    with pytest.raises(InvalidTransition, match="refund instead"):
        cancel(payment)
    with pytest.raises(InvalidTransition):
        cancel(make_payment(P.SUCCEEDED))


# -- refund ---------------------------------------------------------------------


def captured(amount: int = 4200) -> Payment:
    payment = make_payment(P.SUCCEEDED if amount == 4200 else P.PARTIALLY_CAPTURED, captured_amount=amount)
    Capture.objects.create(payment=payment, amount=amount, currency="SGD", status="SUCCEEDED")
    return payment


def test_full_refund(antom_gateway: FakeAntom, signal_log: SignalLog) -> None:
    payment = captured()
    antom_gateway.answer("refund", refund_answer("S"))
    row = refund(payment, reason="damaged", source=Source.ADMIN)
    assert (row.status, row.refund_id) == ("SUCCEEDED", f"REF-{row.refund_request_id}")
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == (P.REFUNDED, 4200)
    sent = antom_gateway.requests("refund")[0]
    assert sent["refundReason"] == "damaged"
    assert sent["refundAmount"] == {"currency": "SGD", "value": "4200"}
    assert signal_log.count("refund_succeeded") == 1
    with pytest.raises(InvalidTransition):
        refund(payment)


def test_partial_refunds_never_exceed_captured(antom_gateway: FakeAntom) -> None:
    payment = captured(3000)
    antom_gateway.answer("refund", {"result": result("U")})
    pending = refund(payment, 1000)
    assert pending.status == "PENDING"
    with pytest.raises(AmountExceeded, match="only 2000"):
        refund(payment, 2001)
    antom_gateway.answer("refund", refund_answer("S"))
    refund(payment, 2000)
    assert retry_refund(pending).status == "SUCCEEDED"
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == (P.PARTIALLY_CAPTURED, 3000)


def test_refund_failed(antom_gateway: FakeAntom, signal_log: SignalLog) -> None:
    payment = captured()
    antom_gateway.answer("refund", {"result": result("F", "REFUND_WINDOW_EXCEED")})
    row = refund(payment, 100)
    assert (row.status, row.result_code) == ("FAILED", "REFUND_WINDOW_EXCEED")
    assert signal_log.names() == ["refund_failed"]
    # A failed refund frees its amount again.
    antom_gateway.answer("refund", refund_answer("S"))
    assert refund(payment).amount == 4200


@pytest.mark.parametrize("status", [P.PENDING, P.AUTHORIZED, P.FAILED, P.CANCELLED])
def test_refund_refused_before_capture(status: str) -> None:
    with pytest.raises(InvalidTransition):
        refund(make_payment(status))
    assert not Refund.objects.exists()


# -- sync -----------------------------------------------------------------------


def test_sync_applies_status_and_transactions(antom_gateway: FakeAntom, signal_log: SignalLog) -> None:
    payment = make_payment(P.PENDING)
    row_id = "cap_from_admin"
    antom_gateway.answer(
        "inquiryPayment", inquiry(payment, "SUCCESS", transactions=[transaction("CAPTURE", row_id, 4200)])
    )
    payment = sync_payment(payment)
    assert (payment.status, payment.captured_amount) == (P.SUCCEEDED, 4200)
    assert payment.last_inquiry_at is not None
    assert payment.auth_expires_at is not None
    assert antom_gateway.requests("inquiryPayment") == [{"paymentRequestId": payment.payment_request_id}]
    assert {e.source for e in payment.events.all()} == {Source.POLL}
    assert signal_log.count("payment_authorized") == 1
    assert signal_log.count("payment_succeeded") == 1


def test_sync_failed_inquiry_changes_nothing(antom_gateway: FakeAntom) -> None:
    payment = make_payment(P.PENDING)
    antom_gateway.answer("inquiryPayment", {"result": result("F", "ORDER_NOT_EXIST")})
    assert sync_payment(payment).status == P.PENDING


def test_sync_unknown_inquiry_raises(antom_gateway: FakeAntom) -> None:
    payment = make_payment(P.PROCESSING, payment_id="2024PAY0001")
    antom_gateway.answer("inquiryPayment", {"result": result("U")})
    with pytest.raises(AntomOutcomeUnknown):
        sync_payment(payment)
    payment.refresh_from_db()
    assert payment.status == P.PROCESSING
    assert antom_gateway.requests("inquiryPayment") == [{"paymentId": "2024PAY0001"}]


def test_sync_at_most_once_per_interval(antom_gateway: FakeAntom) -> None:
    payment = make_payment(P.PENDING)
    antom_gateway.answer("inquiryPayment", inquiry(payment, "PROCESSING"))
    sync_payment(payment, min_interval=2.0)
    sync_payment(payment, min_interval=2.0)
    assert len(antom_gateway.requests("inquiryPayment")) == 1
    Payment.objects.filter(pk=payment.pk).update(last_inquiry_at=timezone.now() - timedelta(seconds=3))
    sync_payment(payment, min_interval=2.0)
    assert len(antom_gateway.requests("inquiryPayment")) == 2


def test_sync_writes_the_payment_row_once(antom_gateway: FakeAntom) -> None:
    payment = make_payment(P.PENDING)
    antom_gateway.answer("inquiryPayment", inquiry(payment, "SUCCESS"))
    with CaptureQueriesContext(connection) as queries:
        sync_payment(payment)
    table = connection.ops.quote_name(Payment._meta.db_table)
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(f"UPDATE {table} ")]
    assert len(updates) == 1, "the status, the facts and the inquiry time in one UPDATE"


def test_sync_that_changes_nothing_records_only_the_inquiry_time(antom_gateway: FakeAntom) -> None:
    payment = make_payment(P.AUTHORIZED)
    antom_gateway.answer("inquiryPayment", inquiry(payment, "PROCESSING"))
    payment = sync_payment(payment)
    stored = Payment.objects.get(pk=payment.pk)
    assert (stored.status, stored.last_inquiry_at is not None) == (P.AUTHORIZED, True)
    assert stored.updated_at < stored.last_inquiry_at, "a stale answer is no change to the payment"


def test_cancel_before_antom_knows_the_payment_id(antom_gateway: FakeAntom) -> None:
    payment = make_payment(P.PENDING)
    antom_gateway.answer("cancel", {"result": result("S")})
    assert cancel(payment).status == P.CANCELLED
    assert antom_gateway.requests("cancel") == [{"paymentRequestId": payment.payment_request_id}]


def test_session_is_usable() -> None:
    future = timezone.now() + timedelta(minutes=5)
    assert session_is_usable(make_payment(P.PENDING, session_data="x", session_expires_at=future))
    assert not session_is_usable(make_payment(P.PENDING, session_data="x", session_expires_at=timezone.now()))
    assert not session_is_usable(make_payment(P.AUTHORIZED, session_data="x"))
    assert not session_is_usable(make_payment(P.PENDING))
