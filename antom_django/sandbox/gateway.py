"""Antom's payment API as the simulator answers it: one method per operation, Antom's result codes.

Where Antom's own result-code tables could not be read, codes follow the closest documented family;
the README's "Sandbox simulator" section lists every code and when it is returned.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from antom_django.client.money import Amount, MoneyError
from antom_django.client.types import Result, parse_time

from . import cards
from .engine import CAPTURE_FAILED, Simulator
from .faults import Faults
from .store import SUCCESS, Capture, Payment, Refund, iso

_Op = TypeVar("_Op", Capture, Refund)


class GatewayError(Exception):
    """An answer other than success: rendered as ``{"result": {...}}`` with HTTP 200, like Antom."""

    def __init__(self, code: str, message: str, status: str = "F") -> None:
        super().__init__(message)
        self.result = Result(code, status, message)


def _illegal(message: str) -> GatewayError:
    return GatewayError("PARAM_ILLEGAL", message)


def _text(body: dict[str, Any], name: str, *, required: bool = True, limit: int = 64) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise _illegal(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise _illegal(f"{name} must be a string")
    if len(value) > limit:
        raise _illegal(f"{name} is longer than {limit} characters")
    return value


def _amount(body: dict[str, Any], name: str) -> Amount:
    if name not in body:
        raise _illegal(f"{name} is required")
    try:
        amount = Amount.from_wire(body[name])
    except MoneyError as exc:
        raise _illegal(f"{name}: {exc}") from None
    if amount.value <= 0:
        raise _illegal(f"{name}.value must be greater than zero")
    return amount


def _flag(value: Any) -> bool:
    # Antom asks for every scalar as a string ("true"), but SDKs send JSON booleans too.
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _url(body: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = _text(body, name, required=required, limit=2048)
    if value is not None and not value.startswith(("http://", "https://")):
        raise _illegal(f"{name} must be an absolute http(s) URL")
    return value


def _canonical(body: dict[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


class Gateway:
    """Dispatches verified API calls to the operation that answers them."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.store = sim.store
        self.operations: dict[str, Callable[[str, dict[str, Any], str, Faults | None], dict[str, Any]]] = {
            "createPaymentSession": self.create_payment_session,
            "inquiryPayment": self.inquiry_payment,
            "capture": self.capture,
            "cancel": self.cancel,
            "refund": self.refund,
            "inquiryRefund": self.inquiry_refund,
        }

    def handle(
        self, operation: str, client_id: str, body: dict[str, Any], origin: str, faults: Faults | None
    ) -> dict[str, Any]:
        self.sim.sweep()
        try:
            return self.operations[operation](client_id, body, origin, faults)
        except GatewayError as exc:
            return {"result": exc.result.to_wire()}

    # -- idempotency ------------------------------------------------------------

    def _replayed(self, op: str, client_id: str, request_id: str, body: dict[str, Any]) -> dict[str, Any] | None:
        record = self.store.replays.get((client_id, op, request_id))
        if record is None:
            return None
        canonical, answer = record
        if canonical != _canonical(body):
            raise GatewayError(
                "REPEAT_REQ_INCONSISTENT", "The request id was used before with different request content."
            )
        return answer

    def _earlier(
        self, records: dict[tuple[str, str], tuple[str, _Op]], client_id: str, body: dict[str, Any], id_field: str
    ) -> _Op | None:
        """The capture or refund an earlier request with this id made; refused if the content differs."""
        record = records.get((client_id, body[id_field]))
        if record is None:
            return None
        canonical, earlier = record
        if canonical != _canonical(body):
            raise GatewayError("REPEAT_REQ_INCONSISTENT", f"The {id_field} was used before with different content.")
        return earlier

    def _remember(
        self, op: str, client_id: str, request_id: str, body: dict[str, Any], answer: dict[str, Any]
    ) -> dict[str, Any]:
        self.store.replays[(client_id, op, request_id)] = (_canonical(body), answer)
        return answer

    # -- operations ---------------------------------------------------------------

    def create_payment_session(
        self, client_id: str, body: dict[str, Any], origin: str, faults: Faults | None
    ) -> dict[str, Any]:
        request_id = _text(body, "paymentRequestId")
        assert request_id is not None
        with self.store.lock:
            replay = self._replayed("createPaymentSession", client_id, request_id, body)
            if replay is not None:
                return replay
            if body.get("productCode") != "CASHIER_PAYMENT":
                raise _illegal("productCode must be CASHIER_PAYMENT")
            amount = _amount(body, "paymentAmount")
            method = body.get("paymentMethod")
            if not isinstance(method, dict) or method.get("paymentMethodType") != "CARD":
                raise _illegal("paymentMethod.paymentMethodType must be CARD (the simulator serves card payments)")
            redirect_url = _url(body, "paymentRedirectUrl", required=True)
            notify_url = _url(body, "paymentNotifyUrl", required=False)
            order = body.get("order")
            if not isinstance(order, dict):
                raise _illegal("order is required")
            if "orderAmount" in order:
                order_amount = _amount(order, "orderAmount")
                if order_amount.currency != amount.currency:
                    raise _illegal("order.orderAmount and paymentAmount must have the same currency")
            factor = body.get("paymentFactor") or {}
            if not isinstance(factor, dict):
                raise _illegal("paymentFactor must be an object")
            capture_mode = factor.get("captureMode")
            if capture_mode not in (None, "MANUAL", "AUTOMATIC"):
                raise _illegal("paymentFactor.captureMode must be MANUAL or AUTOMATIC")
            manual = capture_mode == "MANUAL" or (_flag(factor.get("isAuthorization")) and capture_mode != "AUTOMATIC")
            expires_at = None
            if body.get("paymentSessionExpiryTime"):
                expires_at = parse_time(body["paymentSessionExpiryTime"])
                if expires_at is None or expires_at.tzinfo is None:
                    raise _illegal("paymentSessionExpiryTime must be an ISO-8601 time with an offset")
            if (client_id, request_id) in self.store.payments_by_request:
                raise GatewayError(
                    "REPEAT_REQ_INCONSISTENT", "The paymentRequestId was used before with different content."
                )
            now = self.store.clock.now()
            payment = Payment(
                payment_id=self.store.new_id("payment"),
                client_id=client_id,
                payment_request_id=request_id,
                amount=amount,
                session_id="",
                manual_capture=manual,
                notify_url=notify_url,
                redirect_url=redirect_url or "",
                created=now,
                faults=faults if faults and faults.touches_notifications else None,
            )
            session = self.sim.open_session(payment, origin, expires_at)
            payment.session_id = session.session_id
            self.store.payments[payment.payment_id] = payment
            self.store.payments_by_request[(client_id, request_id)] = payment.payment_id
            answer = {
                "result": Result("SUCCESS", "S", "success.").to_wire(),
                "paymentSessionData": session.session_data,
                "paymentSessionId": session.session_id,
                "paymentSessionExpiryTime": iso(session.expires),
                "normalUrl": f"{origin}/checkout/{session.session_id}",
            }
            return self._remember("createPaymentSession", client_id, request_id, body, answer)

    def _find_payment(self, client_id: str, body: dict[str, Any]) -> Payment:
        payment_id = _text(body, "paymentId", required=False)
        request_id = _text(body, "paymentRequestId", required=False)
        if not payment_id and not request_id:
            raise _illegal("paymentId or paymentRequestId is required")
        payment = self.store.payment(client_id, payment_id, request_id)
        if payment is None:
            raise GatewayError("ORDER_NOT_EXIST", "The payment does not exist.")
        return self.sim.lapse(payment)

    def inquiry_payment(
        self, client_id: str, body: dict[str, Any], origin: str, faults: Faults | None
    ) -> dict[str, Any]:
        with self.store.lock:
            payment = self._find_payment(client_id, body)
            answer: dict[str, Any] = {
                "result": SUCCESS.to_wire(),
                "paymentStatus": payment.status,
                "paymentResultCode": payment.result_code,
                "paymentResultMessage": payment.result_message,
                "paymentRequestId": payment.payment_request_id,
                "paymentId": payment.payment_id,
                "paymentAmount": payment.amount.to_wire(),
                "paymentMethodType": "CARD",
                "paymentRedirectUrl": payment.redirect_url,
                "paymentCreateTime": iso(payment.created),
            }
            if payment.status == "SUCCESS" or payment.captures:
                answer["actualPaymentAmount"] = payment.amount.to_wire()
                answer["paymentTime"] = iso(payment.payment_time)
                if payment.manual_capture:
                    answer["authExpiryTime"] = iso(payment.auth_expiry)
            if payment.card:
                answer["paymentResultInfo"] = dict(payment.card)
                answer["cardInfo"] = {k: payment.card[k] for k in ("cardBrand", "funding", "issuingCountry")}
            transactions = self._transactions(payment)
            if transactions:
                answer["transactions"] = transactions
            return answer

    def _transactions(self, payment: Payment) -> list[dict[str, Any]]:
        items: list[tuple[datetime, dict[str, Any]]] = []
        for c in payment.captures:
            items.append(
                (c.created, _transaction("CAPTURE", c.status, c.request_id, c.capture_id, c.amount, c.time, c.result))
            )
        for r in payment.refunds:
            items.append(
                (r.created, _transaction("REFUND", r.status, r.request_id, r.refund_id, r.amount, r.time, r.result))
            )
        if payment.cancel_time is not None:
            items.append(
                (
                    payment.cancel_time,
                    _transaction(
                        "CANCEL",
                        "SUCCESS",
                        payment.payment_request_id,
                        payment.payment_id,
                        payment.amount,
                        payment.cancel_time,
                        SUCCESS,
                    ),
                )
            )
        return [item for _, item in sorted(items, key=lambda pair: pair[0])]

    def capture(self, client_id: str, body: dict[str, Any], origin: str, faults: Faults | None) -> dict[str, Any]:
        request_id = _text(body, "captureRequestId")
        assert request_id is not None
        with self.store.lock:
            earlier = self._earlier(self.store.captures, client_id, body, "captureRequestId")
            if earlier is not None:
                return self._capture_answer(self.store.payments[earlier.payment_id], earlier)
            replay = self._replayed("capture", client_id, request_id, body)
            if replay is not None:
                return replay
            payment_id = _text(body, "paymentId")
            amount = _amount(body, "captureAmount")
            payment = self.store.payment(client_id, payment_id, None)
            try:
                if payment is None:
                    raise GatewayError("ORDER_NOT_EXIST", "The payment does not exist.")
                self._check_capturable(self.sim.lapse(payment), amount, body)
            except GatewayError as exc:
                return self._remember("capture", client_id, request_id, body, {"result": exc.result.to_wire()})
            now = self.store.clock.now()
            fails = payment.card_behaviour == cards.CAPTURE_FAILS
            capture = Capture(
                capture_id=self.store.new_id("capture"),
                request_id=request_id,
                amount=amount,
                status="PROCESSING" if fails else "SUCCESS",
                result=Result("CAPTURE_IN_PROCESS", "U", "capture in process") if fails else SUCCESS,
                created=now,
                time=None if fails else now,
                request=body,
                payment_id=payment.payment_id,
            )
            payment.captures.append(capture)
            if _flag(body.get("isLastCapture")):
                payment.closed_by_last_capture = True
            self.store.captures[(client_id, request_id)] = (_canonical(body), capture)
        if fails:
            self.sim.scheduler.call_later(
                self.sim.config.scaled(self.sim.config.settle_delay),
                lambda: self._fail_capture(payment, capture, faults),
            )
        else:
            self.sim.notify_capture(payment, capture, faults)
        return self._capture_answer(payment, capture)

    def _fail_capture(self, payment: Payment, capture: Capture, faults: Faults | None) -> None:
        with self.store.lock:
            capture.status, capture.result, capture.time = "FAIL", CAPTURE_FAILED, self.store.clock.now()
        self.sim.notify_capture(payment, capture, faults)

    def _check_capturable(self, payment: Payment, amount: Amount, body: dict[str, Any]) -> None:
        if amount.currency != payment.amount.currency:
            raise GatewayError("CURRENCY_NOT_SUPPORT", "captureAmount must be in the currency of the payment.")
        if payment.status == "CANCELLED" and payment.cancel_time is not None:
            raise GatewayError("AUTH_CANCELLED", "The authorization was cancelled.")
        if payment.auth_expiry is not None and self.store.clock.now() >= payment.auth_expiry:
            raise GatewayError("AUTH_EXPIRED", "The authorization expired; it can no longer be captured.")
        if payment.status == "CANCELLED":
            raise GatewayError("AUTH_CANCELLED", "The authorization was cancelled.")
        if payment.status != "SUCCESS":
            raise GatewayError("ORDER_STATUS_INVALID", f"The payment cannot be captured while it is {payment.status}.")
        if payment.closed_by_last_capture:
            raise GatewayError(
                "ORDER_STATUS_INVALID", "A capture marked isLastCapture already closed the authorization."
            )
        if payment.captured + amount.value > payment.amount.value:
            raise GatewayError(
                "CAPTURE_AMOUNT_EXCEED_AUTH_LIMIT", "The total capture amount exceeds the authorized amount."
            )

    def _capture_answer(self, payment: Payment, capture: Capture) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "result": capture.result.to_wire(),
            "captureRequestId": capture.request_id,
            "paymentId": payment.payment_id,
            "captureAmount": capture.amount.to_wire(),
        }
        if capture.status == "SUCCESS":
            answer["captureId"] = capture.capture_id
            answer["captureTime"] = iso(capture.time)
        return answer

    def cancel(self, client_id: str, body: dict[str, Any], origin: str, faults: Faults | None) -> dict[str, Any]:
        with self.store.lock:
            payment = self._find_payment(client_id, body)
            if payment.status != "CANCELLED":
                if payment.status == "FAIL":
                    raise GatewayError("ORDER_IS_CLOSED", "The payment is already closed.")
                if payment.captured:
                    raise GatewayError("ORDER_STATUS_INVALID", "The payment has captures; refund it instead.")
                payment.status = "CANCELLED"
                payment.result_code, payment.result_message = "ORDER_IS_CANCELLED", "The payment was cancelled."
                payment.cancel_time = self.store.clock.now()
                session = self.store.sessions.get(payment.session_id)
                if session is not None and session.status in ("OPEN", "CHALLENGE"):
                    session.status = "CLOSED"
            return {
                "result": SUCCESS.to_wire(),
                "paymentId": payment.payment_id,
                "paymentRequestId": payment.payment_request_id,
                "cancelTime": iso(payment.cancel_time),
            }

    def refund(self, client_id: str, body: dict[str, Any], origin: str, faults: Faults | None) -> dict[str, Any]:
        request_id = _text(body, "refundRequestId")
        assert request_id is not None
        with self.store.lock:
            earlier = self._earlier(self.store.refunds, client_id, body, "refundRequestId")
            if earlier is not None:
                return self._refund_answer(earlier, str(body.get("paymentId")))
            replay = self._replayed("refund", client_id, request_id, body)
            if replay is not None:
                return replay
            payment_id = _text(body, "paymentId")
            amount = _amount(body, "refundAmount")
            notify_url = _url(body, "refundNotifyUrl", required=False)
            _text(body, "refundReason", required=False, limit=256)
            payment = self.store.payment(client_id, payment_id, None)
            try:
                if payment is None:
                    raise GatewayError("ORDER_NOT_EXIST", "The payment does not exist.")
                if amount.currency != payment.amount.currency:
                    raise GatewayError("CURRENCY_NOT_SUPPORT", "refundAmount must be in the currency of the payment.")
                if payment.status != "SUCCESS":
                    raise GatewayError(
                        "ORDER_STATUS_INVALID", f"The payment cannot be refunded while it is {payment.status}."
                    )
                if payment.refunded + amount.value > payment.settled_captured:
                    raise GatewayError("REFUND_AMOUNT_EXCEED", "The total refund amount exceeds the captured amount.")
            except GatewayError as exc:
                return self._remember("refund", client_id, request_id, body, {"result": exc.result.to_wire()})
            now = self.store.clock.now()
            refund = Refund(
                refund_id=self.store.new_id("refund"),
                request_id=request_id,
                amount=amount,
                status="SUCCESS",
                result=SUCCESS,
                created=now,
                time=now,
                request=body,
                notify_url=notify_url,
            )
            payment.refunds.append(refund)
            self.store.refunds[(client_id, request_id)] = (_canonical(body), refund)
            self.store.refunds_by_id[refund.refund_id] = (client_id, refund)
        self.sim.notify_refund(payment, refund, faults)
        return self._refund_answer(refund, payment.payment_id)

    def _refund_answer(self, refund: Refund, payment_id: str) -> dict[str, Any]:
        return {
            "result": refund.result.to_wire(),
            "refundRequestId": refund.request_id,
            "refundId": refund.refund_id,
            "paymentId": payment_id,
            "refundAmount": refund.amount.to_wire(),
            "refundTime": iso(refund.time),
        }

    def inquiry_refund(
        self, client_id: str, body: dict[str, Any], origin: str, faults: Faults | None
    ) -> dict[str, Any]:
        refund_id = _text(body, "refundId", required=False)
        request_id = _text(body, "refundRequestId", required=False)
        if not refund_id and not request_id:
            raise _illegal("refundId or refundRequestId is required")
        with self.store.lock:
            refund: Refund | None = None
            if refund_id:
                found = self.store.refunds_by_id.get(refund_id)
                refund = found[1] if found and found[0] == client_id else None
            elif request_id:
                record = self.store.refunds.get((client_id, request_id))
                refund = record[1] if record else None
            if refund is None:
                raise GatewayError("ORDER_NOT_EXIST", "The refund does not exist.")
            answer: dict[str, Any] = {
                "result": SUCCESS.to_wire(),
                "refundId": refund.refund_id,
                "refundRequestId": refund.request_id,
                "refundAmount": refund.amount.to_wire(),
                "refundStatus": refund.status,
            }
            if refund.status == "SUCCESS":
                answer["refundTime"] = iso(refund.time)
            return answer


def _transaction(
    kind: str, status: str, request_id: str, txn_id: str, amount: Amount, moment: datetime | None, result: Result
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "transactionType": kind,
        "transactionStatus": status,
        "transactionRequestId": request_id,
        "transactionId": txn_id,
        "transactionAmount": amount.to_wire(),
        "transactionResult": result.to_wire(),
    }
    if moment is not None:
        item["transactionTime"] = iso(moment)
    return item
