"""Apply a stored notification: dispatch on ``notifyType``, deduplicate in the database, record the outcome."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError
from django.utils import timezone

from ..client.types import Result, parse_amount, parse_time
from ..models import Capture, Notification, Payment, Refund, Source
from ..state import ledger_status_from_result, refund_status_from_notification
from .context import Ctx, atomic, lock
from .results import apply_capture_fact, apply_locked, apply_refund_fact

logger = logging.getLogger("antom_django.services")
Outcome = Notification.Outcome


def dedupe_key(data: dict[str, Any]) -> str:
    """notifyType + Antom's id + the result it reports + the amount it names.

    PAYMENT_PENDING and PAYMENT_RESULT differ by type; S and F by status; and a message naming
    another amount is never mistaken for a resend, so its mismatch is seen and flagged.
    """
    notify_type = str(data.get("notifyType") or "")
    result = Result.from_wire(data.get("result"))
    status = result.status if result else ""
    if notify_type == "CAPTURE_RESULT":
        ident, amount = data.get("captureId") or data.get("captureRequestId"), data.get("captureAmount")
    elif notify_type == "REFUND_RESULT":
        ident, amount = data.get("refundId") or data.get("refundRequestId"), data.get("refundAmount")
        status = f"{data.get('refundStatus') or ''}/{status}"
    else:
        ident, amount = data.get("paymentId") or data.get("paymentRequestId"), data.get("paymentAmount")
    money = parse_amount(amount)
    named = f"{money.value}{money.currency}" if money else ""
    return f"{notify_type}:{ident or ''}:{status}:{named}"[:200]


def _payment_for(data: dict[str, Any]) -> Payment | None:
    request_id = str(data.get("paymentRequestId") or "")
    payment_id = str(data.get("paymentId") or "")
    if request_id:
        found = Payment.objects.filter(payment_request_id=request_id).first()
        if found is not None:
            return found
    if payment_id:
        return Payment.objects.filter(payment_id=payment_id).first()
    return None


def _find_payment(data: dict[str, Any]) -> Payment | None:
    notify_type = data.get("notifyType")
    if notify_type == "CAPTURE_RESULT" and data.get("captureRequestId"):
        row = Capture.objects.filter(capture_request_id=data["captureRequestId"]).select_related("payment").first()
        if row is not None:
            return row.payment
    if notify_type == "REFUND_RESULT" and data.get("refundRequestId"):
        ref = Refund.objects.filter(refund_request_id=data["refundRequestId"]).select_related("payment").first()
        if ref is not None:
            return ref.payment
    return _payment_for(data)


def _apply_payment(payment: Payment, data: dict[str, Any], ctx: Ctx) -> None:
    apply_locked(payment, data, ctx)


def _apply_capture(payment: Payment, data: dict[str, Any], ctx: Ctx) -> None:
    result = Result.from_wire(data.get("result"))
    apply_capture_fact(
        payment,
        ctx,
        target=ledger_status_from_result(result.status) if result else None,
        request_id=str(data.get("captureRequestId") or ""),
        capture_id=str(data.get("captureId") or ""),
        amount=parse_amount(data.get("captureAmount")),
        result=result,
        when=parse_time(data.get("captureTime")),
        raw=data,
    )


def _apply_refund(payment: Payment, data: dict[str, Any], ctx: Ctx) -> None:
    result = Result.from_wire(data.get("result"))
    apply_refund_fact(
        payment,
        ctx,
        target=refund_status_from_notification(str(data.get("refundStatus") or ""), result.status if result else ""),
        request_id=str(data.get("refundRequestId") or ""),
        refund_id=str(data.get("refundId") or ""),
        amount=parse_amount(data.get("refundAmount")),
        result=result,
        when=parse_time(data.get("refundTime")),
        raw=data,
    )


HANDLERS: dict[str, Callable[[Payment, dict[str, Any], Ctx], None]] = {
    "PAYMENT_RESULT": _apply_payment,
    "PAYMENT_PENDING": _apply_payment,
    "CAPTURE_RESULT": _apply_capture,
    "REFUND_RESULT": _apply_refund,
}


def _finish(notification: Notification, outcome: str, *, error: str = "", payment: Payment | None = None) -> str:
    notification.outcome = outcome
    notification.error = error
    notification.processed_at = timezone.now()
    fields = ["outcome", "error", "processed_at", "notify_type"]
    if payment is not None:
        notification.payment = payment
        fields.append("payment")
    notification.save(update_fields=fields)
    return outcome


def apply_notification(notification: Notification) -> str:
    """Apply a stored, signature-verified notification; returns its :class:`Notification.Outcome`.

    APPLIED (also when it changed nothing new, or flagged the payment for review: see
    ``notification.error``), DUPLICATE (an identical notification was already applied),
    UNKNOWN_PAYMENT, IGNORED (a notifyType we do not act on), REJECTED (not verified, or
    not a JSON object). Every one of these should be acknowledged to Antom. A failure of our
    own (database down) propagates, rolls back the effects and leaves the notification
    RECEIVED, so the view answers non-200 and Antom retries.
    """
    if not notification.signature_verified:
        return _finish(notification, Outcome.REJECTED, error="signature not verified; not applied")
    try:
        data = notification.payload()
    except ValueError:
        return _finish(notification, Outcome.REJECTED, error="body is not a JSON object")
    notification.notify_type = str(data.get("notifyType") or notification.notify_type)[:32]
    handler = HANDLERS.get(notification.notify_type)
    if handler is None:
        return _finish(notification, Outcome.IGNORED, error=f"notifyType {notification.notify_type!r} is not handled")
    found = _find_payment(data)
    if found is None:
        return _finish(notification, Outcome.UNKNOWN_PAYMENT, error="no payment matches this notification")
    key = dedupe_key(data)
    ctx = Ctx(source=Source.NOTIFICATION, notification=notification)
    try:
        with atomic():
            # Claiming the key and applying the effects commit together: a failure un-claims it, and a
            # concurrent duplicate waits on the unique index until we commit, then collides.
            Notification.objects.filter(pk=notification.pk).update(dedupe_key=key)
            payment = lock(found)
            handler(payment, data, ctx)
            _finish(notification, Outcome.APPLIED, error="\n".join(ctx.reviews), payment=payment)
    except IntegrityError:
        if not Notification.objects.filter(dedupe_key=key).exclude(pk=notification.pk).exists():
            raise
        logger.info("duplicate notification %s (%s)", notification.pk, key)
        return _finish(notification, Outcome.DUPLICATE, payment=found)
    notification.dedupe_key = key
    return Outcome.APPLIED
