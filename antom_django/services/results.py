"""Apply what Antom says about a payment, from a notification or an inquiry, under the row lock."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from django.db.models import Q
from django.utils import timezone

from ..client.errors import AntomFailed
from ..client.types import CardInfo, PaymentInquiry, PaymentNotification, Result, Transaction
from ..models import Capture, Payment, PaymentEvent, Refund, Source
from ..state import (
    Decision,
    ledger_status_from_transaction,
    payment_status_from_inquiry,
    payment_status_from_notification,
)
from .context import Change, Ctx, atomic, changing, flag, get_client, lock, move, payment_ref, record
from .ledger import LedgerFact, amount_mismatch, apply_ledger_fact, settle
from .sessions import session_is_over
from .validation import unusable

if TYPE_CHECKING:
    from ..client.api import AntomClient
    from ..client.money import Amount
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
    def from_message(cls, message: PaymentMessage, *, is_authorization: bool) -> PaymentFact:
        """From a notifyPayment (``result`` and ``notifyType`` decide) or an inquiryPayment answer
        (``paymentStatus`` decides; its ``result`` is about the inquiry)."""
        if isinstance(message, PaymentNotification):
            result = message.result
            status = result.status if result else ""
            target = payment_status_from_notification(message.notify_type, status, is_authorization=is_authorization)
            code, text = (result.code, result.message) if result else ("", "")
        else:
            target = payment_status_from_inquiry(message.payment_status, is_authorization=is_authorization)
            code, text = message.payment_result_code, message.payment_result_message
        return cls(
            target=target,
            payment_id=message.payment_id,
            payment_request_id=message.payment_request_id,
            amount=message.payment_amount,
            result_code=code[:64],
            result_message=text[:256],
            auth_expires_at=message.auth_expiry_time,
            paid_at=message.payment_time,
            card=message.card,
            raw=message.raw,
        )


PaymentMessage = PaymentNotification | PaymentInquiry
"""What Antom tells us about a payment: a notifyPayment, or an inquiryPayment answer (with ``transactions``)."""


def read_payment_message(data: dict[str, Any]) -> PaymentMessage:
    """Parse a notifyPayment body (it has ``notifyType``) or an inquiryPayment answer, once."""
    if data.get("notifyType"):
        return PaymentNotification.from_wire(data)
    # An answer handed over as a dict was accepted already (an inquiry answered F raises in the client);
    # its ``result`` only says the inquiry worked, and nothing here reads it.
    return PaymentInquiry.from_wire(Result.from_wire(data.get("result")) or Result(code="", status="S"), data)


def apply_payment_result(
    payment: Payment | int,
    message: PaymentMessage | dict[str, Any],
    *,
    source: str = Source.API,
    notification: Notification | None = None,
    user: Any = None,
) -> Payment:
    """Apply a notifyPayment or an inquiryPayment answer (``transactions`` included) to the payment:
    typed (:mod:`antom_django.client.types`) or as the JSON object Antom sent."""
    if isinstance(message, dict):
        message = read_payment_message(message)
    with atomic():
        change = Change(lock(payment), Ctx(source=source, notification=notification, user=user))
        apply_payment_message(change, message)
        change.flush()
    return change.payment


def apply_payment_message(change: Change, message: PaymentMessage) -> Decision | None:
    """The body of :func:`apply_payment_result`, for callers that already hold the lock."""
    fact = PaymentFact.from_message(message, is_authorization=change.payment.is_authorization)
    decision = apply_fact(change, fact)
    if isinstance(message, PaymentInquiry):
        for tx in message.transactions:
            apply_transaction(change, tx)
    return decision


def apply_fact(change: Change, fact: PaymentFact) -> Decision | None:
    """Rule for mismatches: a fact whose ids, amount or currency differ from ours changes nothing but
    the review flag — it neither advances the status nor fills any field."""
    payment = change.payment
    problem = amount_mismatch(payment.money, fact.amount)
    if fact.payment_request_id and fact.payment_request_id != payment.payment_request_id:
        problem = f"Antom's paymentRequestId {fact.payment_request_id} is not ours"
    elif fact.payment_id and payment.payment_id and fact.payment_id != payment.payment_id:
        problem = f"Antom's paymentId {fact.payment_id} differs from ours {payment.payment_id}"
    if problem:
        flag(change, problem, told=fact.target)
        return None
    if fact.target is None:
        return None
    decision = move(change, fact.target, result_code=fact.result_code)
    if decision in (Decision.APPLY, Decision.SAME):
        remember(change, fact)
    if fact.target == P.SUCCEEDED and not payment.is_authorization and decision is not Decision.CONFLICT:
        take_automatic_capture(change)
    return decision


def remember(change: Change, fact: PaymentFact) -> None:
    """Keep the facts that came with a current (not stale) result; marks only the fields that change."""
    payment = change.payment
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
    change.save("gateway_data", *changed)


def take_automatic_capture(change: Change) -> None:
    """A non-authorization payment is captured by Antom itself: record that in the ledger once."""
    payment = change.payment
    if payment.captures.filter(status__in=[Capture.Status.SUCCEEDED, Capture.Status.PENDING]).exists():
        return
    capture = Capture.objects.create(
        payment=payment,
        amount=payment.amount,
        currency=payment.currency,
        origin=Capture.Origin.AUTOMATIC,
        source=change.ctx.source,
    )
    settle(change, capture, LedgerFact(target=Capture.Status.SUCCEEDED))


def apply_transaction(change: Change, tx: Transaction) -> None:
    """One inquiryPayment ``transactions[]`` item: CAPTURE, REFUND, CANCEL / VOID."""
    if tx.type == "CAPTURE":
        apply_ledger_fact(change, Capture, LedgerFact.from_transaction(tx))
    elif tx.type == "REFUND":
        apply_ledger_fact(change, Refund, LedgerFact.from_transaction(tx))
    elif tx.type in ("CANCEL", "VOID"):
        status = ledger_status_from_transaction(tx.status, tx.result.status if tx.result else None)
        if status == Capture.Status.SUCCEEDED:
            move(change, P.CANCELLED, transaction=tx.type)
        elif status == Capture.Status.FAILED and change.payment.cancel_requested_at is not None:
            change.payment.cancel_requested_at = None
            change.save("cancel_requested_at")


def claim_inquiry(payment: Payment, min_interval: float) -> bool:
    """Atomically take the right to ask Antom now: at most once per ``min_interval`` seconds per payment."""
    now = timezone.now()
    stale = Q(last_inquiry_at__isnull=True) | Q(last_inquiry_at__lte=now - timedelta(seconds=min_interval))
    return bool(Payment.objects.filter(stale, pk=payment.pk).update(last_inquiry_at=now))


NO_SUCH_PAYMENT = frozenset({"ORDER_NOT_EXIST"})
"""inquiryPayment F codes that say Antom has no payment under our request id ("the order does not exist").

Antom creates the payment when the buyer submits the session's checkout, so a session nobody paid with is
answered this way. Every other F (``PARAM_ILLEGAL``, ``SIGNATURE_INVALID``, ``ACCESS_DENIED``, ``CLIENT_INVALID``,
...) is about the inquiry itself and says nothing about the payment.
"""


EXPIRED_UNUSED = "The payment session expired before the buyer paid with it."
"""``result_message`` of a payment closed by :func:`antom_has_no_payment`."""


class Inquiry(NamedTuple):
    """What :func:`inquire` learned: the refreshed payment, Antom's F when it refused the inquiry, and its answer
    otherwise (``None`` when nobody was asked: another caller asked within ``min_interval``)."""

    payment: Payment
    refused: AntomFailed | None = None
    answer: PaymentInquiry | None = None


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
    answered F changes nothing and returns the payment, with one exception
    (:func:`antom_has_no_payment`): a PENDING payment whose session is over and that Antom has no
    record of (:data:`NO_SUCH_PAYMENT`) is closed FAILED, since no money moved and nobody can pay with
    it any more. An unknown outcome (U, timeout, 5xx) changes nothing and is re-raised. An answer with
    a field that cannot be read or stored (:func:`~antom_django.services.validation.unusable`) changes
    nothing but the review flag.
    """
    return inquire(payment, source=source, client=client, min_interval=min_interval, user=user).payment


def inquire(
    payment: Payment,
    *,
    source: str = Source.POLL,
    client: AntomClient | None = None,
    min_interval: float | None = None,
    user: Any = None,
) -> Inquiry:
    """:func:`sync_payment`, also handing back Antom's F when it refused the inquiry (to say why a payment stays open)."""
    if min_interval is not None and not claim_inquiry(payment, min_interval):
        payment.refresh_from_db()
        return Inquiry(payment)
    antom = get_client(client)
    ctx = Ctx(source=source, user=user)
    try:
        answer = antom.inquiry_payment(**payment_ref(payment))
    except AntomFailed as exc:
        logger.info("inquiryPayment %s answered F: %s", payment.payment_request_id, exc.result_code)
        return Inquiry(_inquiry_refused(payment, exc, ctx), exc)
    problem = unusable(answer.raw)
    if not problem and says_nothing_new(payment, answer):
        # The poller's usual answer ("still processing"): the inquiry time is all there is to write.
        payment.last_inquiry_at = timezone.now()
        Payment.objects.filter(pk=payment.pk).update(last_inquiry_at=payment.last_inquiry_at)
        return Inquiry(payment, answer=answer)
    with atomic():
        change = Change(lock(payment), ctx)
        change.payment.last_inquiry_at = timezone.now()
        if problem:
            # Signed by Antom but unreadable (or too big for our columns): none of it is applied.
            flag(change, f"An inquiryPayment answer could not be used: {problem}")
            if not change.flush("last_inquiry_at"):
                change.payment.save(update_fields=["last_inquiry_at"])
            return Inquiry(change.payment, answer=answer)
        apply_payment_message(change, answer)
        forget_lost_cancel(change, answer)
        # What the answer changes and the inquiry time go in one UPDATE, as for a notification; an answer
        # that changes nothing writes the time alone, leaving updated_at as it was.
        if not change.flush("last_inquiry_at"):
            change.payment.save(update_fields=["last_inquiry_at"])
    return Inquiry(change.payment, answer=answer)


def says_nothing_new(payment: Payment, answer: PaymentInquiry) -> bool:
    """The answer would change nothing but the stored raw answer: a pending payment Antom still calls pending,
    with the ids, amount, result and times we already have, no transactions and no cancel of ours in flight.

    ``payment`` may be a moment old: a newer status can only be ahead of the answer, which would then be stale.
    """
    fact = PaymentFact.from_message(answer, is_authorization=payment.is_authorization)
    return (
        payment.status in (P.PENDING, P.PROCESSING)
        and fact.target == payment.status
        and not answer.transactions
        and payment.cancel_requested_at is None
        and fact.payment_request_id in ("", payment.payment_request_id)
        and fact.payment_id in ("", payment.payment_id)
        and not amount_mismatch(payment.money, fact.amount)
        and fact.result_code in ("", payment.result_code)
        and fact.result_message in ("", payment.result_message)
        and fact.auth_expires_at in (None, payment.auth_expires_at)
        and fact.paid_at in (None, payment.paid_at)
        and (fact.card is None or card_is_known(payment, fact.card))
    )


def card_is_known(payment: Payment, card: CardInfo) -> bool:
    """:func:`remember` would store nothing new about the card."""
    return (
        card.brand[:32] in ("", payment.card_brand)
        and card.funding[:16] in ("", payment.card_funding)
        and card.issuing_country[:2] in ("", payment.card_issuing_country)
        and card.last4 in ("", payment.card_last4)
    )


def antom_has_no_payment(payment: Payment, result_code: str | None) -> bool:
    """Antom's F to an inquiry shows this payment can never be paid, so no money moved and none will.

    All of: the code is one of :data:`NO_SUCH_PAYMENT`; the payment is PENDING (a session was handed out
    and Antom never reported a payment: PROCESSING or later means Antom knew it) without a ``paymentId``;
    and its session is over (:func:`~antom_django.services.sessions.session_is_over`: expired by our clock
    more than ``SESSION_EXPIRY_GRACE`` ago): until then the buyer may still pay with it, and Antom would
    only then create the payment.
    """
    return (
        result_code in NO_SUCH_PAYMENT
        and payment.status == P.PENDING
        and not payment.payment_id
        and session_is_over(payment)
    )


def _inquiry_refused(payment: Payment, failure: AntomFailed, ctx: Ctx) -> Payment:
    """Record the inquiry time; close the payment FAILED when :func:`antom_has_no_payment` (once, on the timeline)."""
    if not antom_has_no_payment(payment, failure.result_code):
        Payment.objects.filter(pk=payment.pk).update(last_inquiry_at=timezone.now())
        payment.refresh_from_db()
        return payment
    with atomic():
        locked = lock(payment)
        locked.last_inquiry_at = timezone.now()
        if not antom_has_no_payment(locked, failure.result_code):  # a notification settled it meanwhile
            locked.save(update_fields=["last_inquiry_at"])
            return locked
        expired_at = locked.session_expires_at.isoformat() if locked.session_expires_at else ""
        change = Change(locked, ctx)
        # The code is one of NO_SUCH_PAYMENT; the message is ours (the buyer's result page shows it).
        locked.result_code = str(failure.result_code)
        locked.result_message = EXPIRED_UNUSED
        change.save("result_code", "result_message")
        # FAILED, not CANCELLED: nobody cancelled it, the buyer did not pay in time (Antom's own word for an
        # expired session is FAIL), and a late "paid" for a FAILED payment is a conflict flagged for review,
        # where after CANCELLED the state table would drop it as stale.
        move(
            change,
            P.FAILED,
            result_code=failure.result_code,
            session_expired_at=expired_at,
            note="the session expired and Antom has no payment for it",
        )
        change.flush("last_inquiry_at")
    return locked


def forget_lost_cancel(change: Change, answer: PaymentInquiry) -> None:
    """A cancel whose answer was lost (U, timeout, 5xx) and that Antom does not know of stops blocking captures.

    Antom's inquiry shows the payment not cancelled and no CANCEL / VOID among its transactions; the mark
    goes, on the timeline. A cancel still on its way then loses to a capture at Antom, or the other way
    round: Antom refuses the second, so no money moves twice.
    """
    payment = change.payment
    if payment.cancel_requested_at is None or payment.status == P.CANCELLED:
        return
    if answer.payment_status == "CANCELLED" or any(tx.type in ("CANCEL", "VOID") for tx in answer.transactions):
        return
    record(
        payment,
        PaymentEvent.Kind.REQUEST,
        change.ctx,
        operation="cancel",
        cleared="Antom has no cancel of this payment",
    )
    payment.cancel_requested_at = None
    change.save("cancel_requested_at")


def clear_review(payment: Payment, *, note: str = "", source: str = Source.ADMIN, user: Any = None) -> Payment:
    """An operator has looked at a flagged payment: clear ``needs_review``, keeping the why in the timeline."""
    with atomic(), changing(lock(payment), Ctx(source=source, user=user)) as change:
        locked = change.payment
        if locked.needs_review:
            record(locked, PaymentEvent.Kind.REVIEW, change.ctx, cleared=locked.review_reason, note=note)
            locked.needs_review = False
            locked.review_reason = ""
            change.save("needs_review", "review_reason")
    return locked
