"""Builders for domain tests: payments in a given state, Antom's messages, a signed fake gateway."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import responses

from antom_django import signals
from antom_django.client.api import CANCEL, CAPTURE, CREATE_PAYMENT_SESSION, INQUIRY_PAYMENT, REFUND, sandbox_path
from antom_django.models import Capture, Notification, Payment, PaymentEvent, Refund, Source
from tests.client.helpers import GATEWAY, result, signed_headers

SIGNALS = {
    "payment_status_changed": signals.payment_status_changed,
    "payment_authorized": signals.payment_authorized,
    "payment_succeeded": signals.payment_succeeded,
    "payment_failed": signals.payment_failed,
    "payment_cancelled": signals.payment_cancelled,
    "payment_needs_review": signals.payment_needs_review,
    "capture_succeeded": signals.capture_succeeded,
    "capture_failed": signals.capture_failed,
    "refund_succeeded": signals.refund_succeeded,
    "refund_failed": signals.refund_failed,
}

PATHS = {
    "createPaymentSession": sandbox_path(CREATE_PAYMENT_SESSION),
    "inquiryPayment": sandbox_path(INQUIRY_PAYMENT),
    "capture": sandbox_path(CAPTURE),
    "cancel": sandbox_path(CANCEL),
    "refund": sandbox_path(REFUND),
}


def antom_id(payment: Payment) -> str:
    """The paymentId Antom gives this payment (unique per payment, so dedupe keys never collide)."""
    return payment.payment_id or "A" + payment.payment_request_id.removeprefix("pay_")[:24]


def make_payment(status: str = Payment.Status.PENDING, **fields: Any) -> Payment:
    """A payment saved in ``status`` (AUTHORIZED and later already know Antom's paymentId)."""
    values: dict[str, Any] = {"amount": 4200, "currency": "SGD", "reference_order_id": "order-1", "status": status}
    values.update(fields)
    payment = Payment.objects.create(**values)
    if status not in (Payment.Status.INITIATED, Payment.Status.PENDING) and "payment_id" not in fields:
        payment.payment_id = antom_id(payment)
        payment.save(update_fields=["payment_id"])
    return payment


def money(value: int, currency: str = "SGD") -> dict[str, str]:
    return {"currency": currency, "value": str(value)}


def payment_result(
    payment: Payment,
    status: str = "S",
    *,
    notify_type: str = "PAYMENT_RESULT",
    amount: int | None = None,
    currency: str | None = None,
    payment_id: str = "",
) -> dict[str, Any]:
    """A notifyPayment body for ``payment``."""
    return {
        "notifyType": notify_type,
        "paymentRequestId": payment.payment_request_id,
        "paymentId": payment_id or antom_id(payment),
        "paymentAmount": money(payment.amount if amount is None else amount, currency or payment.currency),
        "paymentTime": "2024-01-01T00:01:00+08:00",
        "paymentResultInfo": {"cardBrand": "VISA", "cardNo": "************4242", "funding": "CREDIT"},
        "result": result(status),
    }


def inquiry(
    payment: Payment, payment_status: str, *, transactions: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """An inquiryPayment answer for ``payment``."""
    data: dict[str, Any] = {
        "result": result("S"),
        "paymentStatus": payment_status,
        "paymentRequestId": payment.payment_request_id,
        "paymentId": antom_id(payment),
        "paymentAmount": money(payment.amount, payment.currency),
        "authExpiryTime": "2099-01-08T00:01:00+08:00",
    }
    if transactions is not None:
        data["transactions"] = transactions
    return data


def transaction(kind: str, request_id: str, amount: int, status: str = "S", *, tx_id: str = "") -> dict[str, Any]:
    """One ``transactions[]`` item."""
    return {
        "transactionType": kind,
        "transactionStatus": {"S": "SUCCESS", "F": "FAIL", "U": "PROCESSING"}[status],
        "transactionRequestId": request_id,
        "transactionId": tx_id or f"TX-{request_id}",
        "transactionAmount": money(amount),
        "transactionResult": result(status),
    }


def capture_result(capture: Capture, status: str = "S", *, amount: int | None = None) -> dict[str, Any]:
    return {
        "notifyType": "CAPTURE_RESULT",
        "captureRequestId": capture.capture_request_id,
        "captureId": f"CAP-{capture.capture_request_id}",
        "paymentId": capture.payment.payment_id,
        "captureAmount": money(capture.amount if amount is None else amount, capture.currency),
        "captureTime": "2024-01-01T00:00:02+08:00",
        "result": result(status),
    }


def refund_result(refund: Refund, refund_status: str = "SUCCESS") -> dict[str, Any]:
    return {
        "notifyType": "REFUND_RESULT",
        "refundRequestId": refund.refund_request_id,
        "refundId": f"REF-{refund.refund_request_id}",
        "paymentId": refund.payment.payment_id,
        "refundAmount": money(refund.amount, refund.currency),
        "refundStatus": refund_status,
        "result": result("S"),
    }


def store(body: dict[str, Any] | str, *, verified: bool = True) -> Notification:
    """Store a notification the way the notify view does (raw body first, its own commit)."""
    text = body if isinstance(body, str) else json.dumps(body)
    return Notification.objects.create(body=text, signature_verified=verified, client_id="SANDBOX_5YEXAMPLE0000001")


class FakeAntom:
    """Antom's gateway through ``responses``: every answer signed with Antom's key from the vectors.

    ``answer(operation, payload)`` queues a fixed answer; ``answer(operation, fn)`` computes it
    from the request body. ``requests(operation)`` lists the bodies we sent.
    """

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.rsps = rsps

    def answer(
        self,
        operation: str,
        payload: dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]],
        *,
        status: int = 200,
    ) -> None:
        path = PATHS[operation]

        def reply(request: Any) -> tuple[int, dict[str, str], bytes]:
            sent = json.loads(request.body)
            data = payload(sent) if callable(payload) else payload
            body = json.dumps(data).encode()
            return status, signed_headers(path, body), body

        self.rsps.add_callback(responses.POST, GATEWAY + path, callback=reply, content_type="application/json")

    def requests(self, operation: str) -> list[dict[str, Any]]:
        url = GATEWAY + PATHS[operation]
        return [json.loads(call.request.body) for call in self.rsps.calls if call.request.url == url]


def capture_answer(status: str = "S") -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A capture answer echoing the request (Antom's success shape)."""
    return _echo("capture", "CAP", "2024-01-01T00:00:02+08:00", status)


def refund_answer(status: str = "S") -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A refund answer echoing the request."""
    return _echo("refund", "REF", "2024-01-02T00:00:00+08:00", status)


def _echo(operation: str, id_prefix: str, when: str, status: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def build(sent: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = {"result": result(status)}
        if status == "S":
            request_id = sent[f"{operation}RequestId"]
            data.update(
                {
                    f"{operation}RequestId": request_id,
                    f"{operation}Id": f"{id_prefix}-{request_id}",
                    "paymentId": sent["paymentId"],
                    f"{operation}Amount": sent[f"{operation}Amount"],
                    f"{operation}Time": when,
                }
            )
        return data

    return build


def unsent_authorization(payment: Payment, due_in: timedelta) -> PaymentEvent:
    """The PENDING → AUTHORIZED event of ``payment`` with its two signals still in the outbox, the sweep's turn
    ``due_in`` from now (negative: a process died, and no sweep has sent them)."""
    from django.utils import timezone

    return PaymentEvent.objects.create(
        payment=payment,
        kind=PaymentEvent.Kind.STATUS,
        source=Source.NOTIFICATION,
        from_status=Payment.Status.PENDING,
        to_status=Payment.Status.AUTHORIZED,
        signals="payment_status_changed,payment_authorized",
        signal_after=timezone.now() + due_in,
    )
