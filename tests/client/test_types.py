"""Typed notification bodies: one parse per notifyType, the raw body kept beside the fields."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from antom_django.client.money import Amount
from antom_django.client.types import (
    CaptureNotification,
    PaymentNotification,
    RefundNotification,
    Result,
    Transaction,
    parse_notification,
)

from .helpers import fixture

PLUS8 = timezone(timedelta(hours=8))


def test_payment_notification() -> None:
    body = fixture("notifyPayment_success")
    note = parse_notification(body)
    assert isinstance(note, PaymentNotification)
    assert (note.notify_type, note.payment_request_id, note.payment_id) == (
        "PAYMENT_RESULT",
        "paymentRequestId01",
        "20240101123456789XXXX",
    )
    assert note.result == Result(code="SUCCESS", status="S", message="success.")
    assert note.payment_amount == Amount(currency="SGD", value=4200)
    assert note.payment_time == datetime(2024, 1, 1, 0, 1, tzinfo=PLUS8)
    assert note.card is not None and (note.card.brand, note.card.funding) == ("MASTERCARD", "DEBIT")
    assert note.raw is body


def test_pending_is_a_payment_notification() -> None:
    note = parse_notification({"notifyType": "PAYMENT_PENDING", "paymentId": "1"})
    assert isinstance(note, PaymentNotification)
    assert (note.result, note.payment_amount, note.card) == (None, None, None)


def test_capture_notification() -> None:
    note = parse_notification(fixture("notifyCapture_success"))
    assert isinstance(note, CaptureNotification)
    assert (note.capture_request_id, note.capture_id) == ("captureRequestId01", "20240101987654321XXXX")
    assert note.capture_amount == Amount(currency="SGD", value=4200)
    assert note.capture_time == datetime(2024, 1, 1, 0, 0, 2, tzinfo=PLUS8)
    assert note.result is not None and note.result.status == "S"


def test_refund_notification() -> None:
    body = {
        "notifyType": "REFUND_RESULT",
        "refundStatus": "FAIL",
        "refundRequestId": "r1",
        "refundId": "R1",
        "paymentId": "P1",
        "refundAmount": {"currency": "JPY", "value": "5"},
        "result": {"resultStatus": "S", "resultCode": "SUCCESS"},
    }
    note = parse_notification(body)
    assert isinstance(note, RefundNotification)
    assert (note.refund_status, note.refund_request_id, note.refund_id, note.payment_id) == ("FAIL", "r1", "R1", "P1")
    assert note.refund_amount == Amount(currency="JPY", value=5)
    assert note.refund_time is None


def test_types_not_read_here_are_none() -> None:
    assert parse_notification({"notifyType": "DISPUTE_CREATED"}) is None
    assert parse_notification({}) is None


def test_transaction_keeps_its_raw_item() -> None:
    item = {"transactionType": "CAPTURE", "transactionStatus": "SUCCESS", "transactionId": "T"}
    tx = Transaction.from_wire(item)
    assert (tx.type, tx.status, tx.id, tx.raw) == ("CAPTURE", "SUCCESS", "T", item)
