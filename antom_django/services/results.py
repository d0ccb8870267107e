"""Apply what Antom says about a payment, from a notification or an inquiry, under the row lock."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Q
from django.utils import timezone

from ..client.errors import AntomFailed
from ..client.types import CardInfo, Result, Transaction, parse_amount, parse_time
from ..models import Capture, Payment, PaymentEvent, Refund, Source
from ..state import (
    Decision,
    ledger_status_from_transaction,
    payment_status_from_inquiry,
    payment_status_from_notification,
)
from .context import Ctx, atomic, batched, flag, get_client, lock, move, payment_ref, record, save_payment
from .ledger import adopt_capture, adopt_refund, amount_mismatch, find_capture, settle

if TYPE_CHECKING:
    from ..client.api import AntomClient
    from ..client.money import Amount
    from ..client.types import PaymentInquiry
    from ..models import Notification

logger = logging.getLogger("antom_django.services")
P = Payment.Status


@dataclass(frozen=True)
class PaymentFact:
    """Antom's statement about a payment, whichever message carried it."""

    target: str | None
    payment_id: str
    payment_request_id: str
    amount: Amount | None
    result_code: str
    result_message: str
    auth_expires_at: datetime | None
    paid_at: datetime | None
    card: CardInfo | None
    raw: dict[str, Any]

    @classmethod
    def from_wire(cls, data: dict[str, Any], *, is_authorization: bool) -> PaymentFact:
        """From a notifyPayment body (has ``notifyType``) or an inquiryPayment answer (has ``paymentStatus``)."""
        notify_type = str(data.get("notifyType") or "")
        if notify_type:
            result = Result.from_wire(data.get("result"))
            status = result.status if result else ""
            target = payment_status_from_notification(notify_type, status, is_authorization=is_authorization)
            code, message = (result.code, result.message) if result else ("", "")
        else:
            target = payment_status_from_inquiry(
                str(data.get("paymentStatus") or ""), is_authorization=is_authorization
            )
            code = str(data.get("paymentResultCode") or "")
            message = str(data.get("paymentResultMessage") or "")
        return cls(
            target=target,
            payment_id=str(data.get("paymentId") or ""),
            payment_request_id=str(data.get("paymentRequestId") or ""),
            amount=parse_amount(data.get("paymentAmount")),
            result_code=code[:64],
            result_message=message[:256],
            auth_expires_at=parse_time(data.get("authExpiryTime")),
            paid_at=parse_time(data.get("paymentTime")),
            card=CardInfo.from_payment(data),
            raw=data,
        )


def apply_payment_result(
    payment: Payment | int,
    data: dict[str, Any],
    *,
    source: str = Source.API,
    notification: Notification | None = None,
    user: Any = None,
) -> Payment:
    """Apply a notifyPayment body or an inquiryPayment answer (``transactions`` included) to the payment."""
    ctx = Ctx(source=source, notification=notification, user=user)
    with atomic():
        locked = lock(payment)
        apply_locked(locked, data, ctx)
    return locked


def apply_locked(payment: Payment, data: dict[str, Any], ctx: Ctx) -> Decision | None:
    """The body of :func:`apply_payment_result`, for callers that already hold the lock."""
    fact = PaymentFact.from_wire(data, is_authorization=payment.is_authorization)
    decision = apply_fact(payment, fact, ctx)
    for item in data.get("transactions") or ():
        if isinstance(item, dict):
            apply_transaction(payment, Transaction.from_wire(item), ctx)
    return decision


def apply_fact(payment: Payment, fact: PaymentFact, ctx: Ctx) -> Decision | None:
    """Rule for mismatches: a fact whose ids, amount or currency differ from ours changes nothing but
    the review flag — it neither advances the status nor fills any field."""
    problem = amount_mismatch(payment.money, fact.amount)
    if fact.payment_request_id and fact.payment_request_id != payment.payment_request_id:
        problem = f"Antom's paymentRequestId {fact.payment_request_id} is not ours"
    elif fact.payment_id and payment.payment_id and fact.payment_id != payment.payment_id:
        problem = f"Antom's paymentId {fact.payment_id} differs from ours {payment.payment_id}"
    if problem:
        flag(payment, problem, ctx, told=fact.target)
        return None
    if fact.target is None:
        return None
    decision = move(payment, fact.target, ctx, result_code=fact.result_code)
    if decision in (Decision.APPLY, Decision.SAME):
        remember(payment, fact, ctx)
    if fact.target == P.SUCCEEDED and not payment.is_authorization and decision is not Decision.CONFLICT:
        take_automatic_capture(payment, ctx)
    return decision


def remember(payment: Payment, fact: PaymentFact, ctx: Ctx) -> None:
    """Keep the facts that came with a current (not stale) result; writes only the fields that change."""
    values: dict[str, Any] = {
        "payment_id": payment.payment_id or fact.payment_id,
        "result_code": fact.result_code or payment.result_code,
        "result_message": fact.result_message or payment.result_message,
        "auth_expires_at": fact.auth_expires_at or payment.auth_expires_at,
        "paid_at": fact.paid_at or payment.paid_at,
    }
    if fact.card is not None:
        values["card_brand"] = fact.card.brand[:32] or payment.card_brand
        values["card_funding"] = fact.card.funding[:16] or payment.card_funding
        values["card_issuing_country"] = fact.card.issuing_country[:2] or payment.card_issuing_country
        values["card_last4"] = fact.card.last4 or payment.card_last4
    changed = [name for name, value in values.items() if getattr(payment, name) != value]
    for name in changed:
        setattr(payment, name, values[name])
    # Always replaced, never compared: the hot path does not even read the old one (it is deferred).
    payment.gateway_data = {k: v for k, v in fact.raw.items() if k != "transactions"}
    save_payment(payment, ctx, "gateway_data", *changed)


def take_automatic_capture(payment: Payment, ctx: Ctx) -> None:
    """A non-authorization payment is captured by Antom itself: record that in the ledger once."""
    if payment.captures.filter(status__in=[Capture.Status.SUCCEEDED, Capture.Status.PENDING]).exists():
        return
    capture = Capture.objects.create(
        payment=payment,
        amount=payment.amount,
        currency=payment.currency,
        origin=Capture.Origin.AUTOMATIC,
        source=ctx.source,
    )
    settle(payment, capture, Capture.Status.SUCCEEDED, ctx)


def apply_capture_fact(
    payment: Payment,
    ctx: Ctx,
    *,
    target: str | None,
    request_id: str,
    capture_id: str,
    amount: Amount | None,
    result: Result | None,
    when: datetime | None,
    raw: dict[str, Any],
) -> None:
    """A CAPTURE_RESULT notification or a CAPTURE transaction (payment locked)."""
    capture = find_capture(payment, request_id, capture_id)
    if capture is None and target == Capture.Status.SUCCEEDED:
        capture = adopt_capture(payment, request_id, amount, ctx)
    _settle_fact(
        payment, capture, ctx, target=target, antom_id=capture_id, amount=amount, result=result, when=when, raw=raw
    )


def apply_refund_fact(
    payment: Payment,
    ctx: Ctx,
    *,
    target: str | None,
    request_id: str,
    refund_id: str,
    amount: Amount | None,
    result: Result | None,
    when: datetime | None,
    raw: dict[str, Any],
) -> None:
    """A REFUND_RESULT notification or a REFUND transaction (payment locked)."""
    query = Q(refund_request_id=request_id) if request_id else Q()
    if refund_id:
        query |= Q(refund_id=refund_id)
    refund = payment.refunds.filter(query).first() if query else None
    if refund is None and target == Refund.Status.SUCCEEDED:
        refund = adopt_refund(payment, request_id, amount, ctx)
    _settle_fact(
        payment, refund, ctx, target=target, antom_id=refund_id, amount=amount, result=result, when=when, raw=raw
    )


def _settle_fact(
    payment: Payment,
    row: Capture | Refund | None,
    ctx: Ctx,
    *,
    target: str | None,
    antom_id: str,
    amount: Amount | None,
    result: Result | None,
    when: datetime | None,
    raw: dict[str, Any],
) -> None:
    # No row: a failed or unsettled capture or refund we never asked for moved no money.
    if row is None:
        return
    settle(
        payment,
        row,
        target,
        ctx,
        amount=amount,
        antom_id=antom_id,
        result_code=result.code if result else "",
        result_message=result.message if result else "",
        when=when,
        raw=raw,
    )


def apply_transaction(payment: Payment, tx: Transaction, ctx: Ctx) -> None:
    """One inquiryPayment ``transactions[]`` item: CAPTURE, REFUND, CANCEL / VOID."""
    status = ledger_status_from_transaction(tx.status, tx.result.status if tx.result else None)
    common: dict[str, Any] = {"amount": tx.amount, "result": tx.result, "when": tx.time, "raw": _tx_raw(tx)}
    if tx.type == "CAPTURE":
        apply_capture_fact(payment, ctx, target=status, request_id=tx.request_id, capture_id=tx.id, **common)
    elif tx.type == "REFUND":
        apply_refund_fact(payment, ctx, target=status, request_id=tx.request_id, refund_id=tx.id, **common)
    elif tx.type in ("CANCEL", "VOID"):
        if status == Capture.Status.SUCCEEDED:
            move(payment, P.CANCELLED, ctx, transaction=tx.type)
        elif status == Capture.Status.FAILED and payment.cancel_requested_at is not None:
            payment.cancel_requested_at = None
            save_payment(payment, ctx, "cancel_requested_at")


def _tx_raw(tx: Transaction) -> dict[str, Any]:
    return {
        "transactionType": tx.type,
        "transactionStatus": tx.status,
        "transactionRequestId": tx.request_id,
        "transactionId": tx.id,
        "transactionAmount": tx.amount.to_wire() if tx.amount else None,
        "transactionResult": {"resultStatus": tx.result.status, "resultCode": tx.result.code} if tx.result else None,
    }


def claim_inquiry(payment: Payment, min_interval: float) -> bool:
    """Atomically take the right to ask Antom now: at most once per ``min_interval`` seconds per payment."""
    now = timezone.now()
    stale = Q(last_inquiry_at__isnull=True) | Q(last_inquiry_at__lte=now - timedelta(seconds=min_interval))
    return bool(Payment.objects.filter(stale, pk=payment.pk).update(last_inquiry_at=now))


def sync_payment(
    payment: Payment,
    *,
    source: str = Source.POLL,
    client: AntomClient | None = None,
    min_interval: float | None = None,
    user: Any = None,
) -> Payment:
    """inquiryPayment, then apply status and ``transactions`` (captures, refunds, cancels).

    Returns the refreshed payment. With ``min_interval`` the call is skipped (the stored payment
    is returned) when another caller asked Antom less than that many seconds ago. An inquiry
    answered F (e.g. Antom has no such payment yet) changes nothing and returns the payment; an
    unknown outcome (U, timeout, 5xx) changes nothing and is re-raised.
    """
    if min_interval is not None and not claim_inquiry(payment, min_interval):
        payment.refresh_from_db()
        return payment
    antom = get_client(client)
    try:
        answer = antom.inquiry_payment(**payment_ref(payment))
    except AntomFailed as exc:
        logger.info("inquiryPayment %s answered F: %s", payment.payment_request_id, exc.result_code)
        Payment.objects.filter(pk=payment.pk).update(last_inquiry_at=timezone.now())
        payment.refresh_from_db()
        return payment
    ctx = Ctx(source=source, user=user)
    with atomic():
        locked = lock(payment)
        locked.last_inquiry_at = timezone.now()
        # What the answer changes and the inquiry time go in one UPDATE, as for a notification; an answer
        # that changes nothing writes the time alone, leaving updated_at as it was.
        with batched(locked, ctx):
            apply_locked(locked, answer.raw, ctx)
            forget_lost_cancel(locked, answer, ctx)
            changed = bool(ctx.unsaved)
            if changed:
                save_payment(locked, ctx, "last_inquiry_at")
        if not changed:
            locked.save(update_fields=["last_inquiry_at"])
    return locked


def forget_lost_cancel(payment: Payment, answer: PaymentInquiry, ctx: Ctx) -> None:
    """A cancel whose answer was lost (U, timeout, 5xx) and that Antom does not know of stops blocking captures.

    Antom's inquiry shows the payment not cancelled and no CANCEL / VOID among its transactions; the mark
    goes, on the timeline. A cancel still on its way then loses to a capture at Antom, or the other way
    round: Antom refuses the second, so no money moves twice.
    """
    if payment.cancel_requested_at is None or payment.status == P.CANCELLED:
        return
    if answer.payment_status == "CANCELLED" or any(tx.type in ("CANCEL", "VOID") for tx in answer.transactions):
        return
    record(payment, PaymentEvent.Kind.REQUEST, ctx, operation="cancel", cleared="Antom has no cancel of this payment")
    payment.cancel_requested_at = None
    save_payment(payment, ctx, "cancel_requested_at")


def clear_review(payment: Payment, *, note: str = "", source: str = Source.ADMIN, user: Any = None) -> Payment:
    """An operator has looked at a flagged payment: clear ``needs_review``, keeping the why in the timeline."""
    ctx = Ctx(source=source, user=user)
    with atomic():
        locked = lock(payment)
        if not locked.needs_review:
            return locked
        record(locked, PaymentEvent.Kind.REVIEW, ctx, cleared=locked.review_reason, note=note)
        locked.needs_review = False
        locked.review_reason = ""
        locked.save(update_fields=["needs_review", "review_reason", "updated_at"])
    return locked
