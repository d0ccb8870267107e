"""Money-moving requests: capture, cancel (void) and refund.

Each follows the same three steps so a crash or timeout can never move money twice:
1. under the payment's row lock, check the rules, create the ledger row with a fresh
   request id and commit;
2. call Antom outside any lock or transaction;
3. under the lock again, apply Antom's answer. An unknown answer (U, timeout, 5xx)
   leaves the row PENDING and wakes the payment: :func:`~antom_django.services.follow_up`
   (an inquiry, or :func:`retry_capture` / :func:`retry_refund` with the same request id)
   or a notification settles it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.utils import timezone

from ..client.errors import AntomFailed, AntomOutcomeUnknown
from ..client.types import Result
from ..conf import antom_settings
from ..exceptions import AmountExceeded, GatewayRefused, InvalidAmount, InvalidTransition
from ..models import Capture, Payment, PaymentEvent, Refund, Source
from ..state import CANCELLABLE, CAPTURABLE, REFUNDABLE
from .context import (
    Change,
    Ctx,
    atomic,
    changing,
    get_client,
    ledger_total,
    lock,
    move,
    payment_ref,
    record,
    user_or_none,
)
from .ledger import LedgerFact, settle
from .schedule import earliest, lease, seconds, wake

if TYPE_CHECKING:
    from ..client.api import AntomClient

P = Payment.Status
C = Capture.Status
R = Refund.Status
Row = TypeVar("Row", Capture, Refund)


def _check_amount(amount: Any, left: int, what: str, payment: Payment) -> int:
    if amount is None:
        amount = left
    elif isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidAmount(f"{what} amount must be an int of minor units, not {amount!r}", payment=payment)
    elif amount <= 0:
        raise InvalidAmount(f"{what} amount must be positive, not {amount}", payment=payment)
    if left <= 0:
        raise AmountExceeded(f"nothing left to {what} on payment {payment.payment_request_id}", payment=payment)
    if amount > left:
        raise AmountExceeded(
            f"cannot {what} {amount}: only {left} {payment.currency} minor units left to {what} "
            "(requests still in flight count)",
            payment=payment,
        )
    return int(amount)


# -- capture ------------------------------------------------------------------


def capture(
    payment: Payment,
    amount: int | None = None,
    *,
    source: str = Source.API,
    user: Any = None,
    final: bool | None = None,
    client: AntomClient | None = None,
) -> Capture:
    """Capture ``amount`` minor units (default: all that is left) of an authorized payment.

    Returns the :class:`Capture`: SUCCEEDED, FAILED (see ``result_code``), or PENDING when
    Antom's answer is unknown. ``final=True`` sends ``isLastCapture`` and ends capturing
    after this one. Raises :class:`InvalidTransition` / :class:`AmountExceeded` /
    :class:`InvalidAmount` before anything is sent.
    """
    antom = get_client(client)
    ctx = Ctx(source=source, user=user)
    with atomic():
        locked = lock(payment)
        if locked.status not in CAPTURABLE:
            raise InvalidTransition(f"cannot capture a payment that is {locked.status}", payment=locked)
        if not locked.payment_id:
            raise InvalidTransition("Antom has not given this payment a paymentId yet", payment=locked)
        if locked.cancel_requested_at is not None:
            raise InvalidTransition("a cancel of this payment is in flight; sync it first", payment=locked)
        if locked.auth_expires_at is not None and locked.auth_expires_at <= timezone.now():
            raise InvalidTransition(f"the authorization expired at {locked.auth_expires_at}", payment=locked)
        left = locked.amount - ledger_total(locked.captures, C.SUCCEEDED, C.PENDING)
        value = _check_amount(amount, left, "capture", locked)
        row = Capture.objects.create(
            payment=locked,
            amount=value,
            currency=locked.currency,
            is_last_capture=final,
            source=source,
            requested_by=user_or_none(user),
        )
        record(locked, PaymentEvent.Kind.REQUEST, ctx, row=row, operation="capture", amount=value)
    # A process that dies before Antom answers leaves the row PENDING: the due queue's lease (when the background
    # work captured) or the sweep follows it up.
    return _send_capture(row, ctx, antom)


def retry_capture(
    capture: Capture, *, source: str = Source.SWEEP, user: Any = None, client: AntomClient | None = None
) -> Capture:
    """Send a PENDING capture again with its own ``captureRequestId`` (Antom answers idempotently)."""
    capture.refresh_from_db()
    if capture.status != C.PENDING:
        return capture
    return _send_capture(capture, Ctx(source=source, user=user), get_client(client), resend=True)


def _send_capture(row: Capture, ctx: Ctx, antom: AntomClient, *, resend: bool = False) -> Capture:
    try:
        answer = antom.capture(
            capture_request_id=row.capture_request_id,
            payment_id=row.payment.payment_id,
            amount=row.money,
            is_last_capture=row.is_last_capture,
        )
    except (AntomFailed, AntomOutcomeUnknown) as exc:
        return _settle_answer(row, ctx, exc, resend=resend)
    return _settle_answer(row, ctx, LedgerFact.from_capture(answer))


def _settle_answer(
    row: Row, ctx: Ctx, answer: LedgerFact | AntomFailed | AntomOutcomeUnknown, *, resend: bool = False
) -> Row:
    """Apply Antom's answer to a capture/refund row under the payment's lock: S or F settles it; an unknown
    outcome (U, timeout, 5xx) leaves it PENDING, on the timeline, and the first one wakes the payment for its
    follow-up (a resend's is the follow-up's to schedule, with its backoff)."""
    with atomic():
        change = Change(lock(row.payment), ctx)
        row.refresh_from_db()
        if isinstance(answer, AntomOutcomeUnknown):
            kind = PaymentEvent.Kind.OUTCOME_UNKNOWN
            record(change.payment, kind, ctx, row=row, operation=row.noun, error=str(answer))
            if not resend:
                wake(change.payment, timezone.now() + seconds("POLL_INTERVAL"))  # the follow-up starts soon
        elif isinstance(answer, AntomFailed):
            result = Result(code=answer.result_code or "", status="F", message=answer.result_message or "")
            settle(change, row, LedgerFact(target=row.Status.FAILED, result=result))
        else:
            settle(change, row, answer)
        change.flush()
    row.refresh_from_db()
    return row


# -- cancel -------------------------------------------------------------------


NOTHING_TO_CANCEL = "ORDER_NOT_EXIST"
"""Antom's F to a cancel of a payment it has no record of."""


def cancel(
    payment: Payment, *, source: str = Source.API, user: Any = None, client: AntomClient | None = None
) -> Payment:
    """Cancel a payment whose money has not been captured (void the authorization).

    Returns the payment CANCELLED. Antom's F raises :class:`GatewayRefused`, except ORDER_NOT_EXIST for a
    payment whose session request never had a known outcome (INITIATED): Antom has nothing to cancel, so
    the payment is closed here (CANCELLED, on the timeline). An unknown outcome re-raises
    :class:`~antom_django.client.AntomOutcomeUnknown` with the cancel marked in flight
    (``cancel_requested_at``), which blocks captures until it is settled: call ``cancel`` again (the same
    request is sent again) or :func:`~antom_django.services.sync_payment` (which clears the mark when
    Antom has no cancel of the payment).
    """
    antom = get_client(client)
    ctx = Ctx(source=source, user=user)
    with atomic():
        locked = lock(payment)
        if locked.status == P.CANCELLED:
            return locked
        if locked.status not in CANCELLABLE:
            raise InvalidTransition(f"cannot cancel a payment that is {locked.status}", payment=locked)
        if locked.captures.filter(status__in=[C.SUCCEEDED, C.PENDING]).exists():
            raise InvalidTransition("money was captured or a capture is in flight; refund instead", payment=locked)
        resend = locked.cancel_requested_at is not None
        if not resend:
            locked.cancel_requested_at = timezone.now()
            # Followed up if this process dies before Antom answers.
            locked.next_check_at = earliest(locked.next_check_at, locked.cancel_requested_at + lease())
            locked.save(update_fields=["cancel_requested_at", "next_check_at", "updated_at"])
        record(locked, PaymentEvent.Kind.REQUEST, ctx, operation="cancel", resend=resend or None)
    try:
        answer = antom.cancel(**payment_ref(locked))
    except AntomFailed as exc:
        with atomic():
            locked = lock(payment)
            if exc.result_code == NOTHING_TO_CANCEL and locked.status == P.INITIATED and not locked.payment_id:
                with changing(locked, ctx) as change:
                    locked.cancel_requested_at = None
                    change.save("cancel_requested_at")
                    move(change, P.CANCELLED, result_code=exc.result_code, note="Antom has no such payment")
                return locked
            locked.cancel_requested_at = None
            locked.save(update_fields=["cancel_requested_at", "updated_at"])
            record(locked, PaymentEvent.Kind.REQUEST, ctx, operation="cancel", refused=exc.result_code or "F")
        raise GatewayRefused.from_failure("to cancel", exc, payment=locked) from exc
    except AntomOutcomeUnknown as exc:
        with atomic():
            locked = lock(payment)
            record(locked, PaymentEvent.Kind.OUTCOME_UNKNOWN, ctx, operation="cancel", error=str(exc))
            if not resend:  # a resend is the follow-up's, which schedules the next with its backoff
                wake(locked, timezone.now() + seconds("POLL_INTERVAL"))  # the follow-up starts soon
        raise
    with atomic(), changing(lock(payment), ctx) as change:
        move(change, P.CANCELLED, cancel_time=str(answer.cancel_time or ""))
    return change.payment


# -- refund -------------------------------------------------------------------


def refund(
    payment: Payment,
    amount: int | None = None,
    *,
    reason: str = "",
    source: str = Source.API,
    user: Any = None,
    client: AntomClient | None = None,
) -> Refund:
    """Refund ``amount`` minor units (default: all that is left) of the captured money.

    Returns the :class:`Refund`: SUCCEEDED, FAILED (see ``result_code``) or PENDING when the
    answer is unknown. Refunds in flight count against what is left, so two concurrent
    refunds can never exceed what was captured.
    """
    antom = get_client(client)
    ctx = Ctx(source=source, user=user)
    with atomic():
        locked = lock(payment)
        if locked.status not in REFUNDABLE:
            raise InvalidTransition(f"cannot refund a payment that is {locked.status}", payment=locked)
        left = locked.captured_amount - ledger_total(locked.refunds, R.SUCCEEDED, R.PENDING)
        value = _check_amount(amount, left, "refund", locked)
        row = Refund.objects.create(
            payment=locked,
            amount=value,
            currency=locked.currency,
            reason=(reason or "")[:256],
            source=source,
            requested_by=user_or_none(user),
        )
        record(locked, PaymentEvent.Kind.REQUEST, ctx, row=row, operation="refund", amount=value)
    return _send_refund(row, ctx, antom)


def retry_refund(
    refund: Refund, *, source: str = Source.SWEEP, user: Any = None, client: AntomClient | None = None
) -> Refund:
    """Send a PENDING refund again with its own ``refundRequestId``."""
    refund.refresh_from_db()
    if refund.status != R.PENDING:
        return refund
    return _send_refund(refund, Ctx(source=source, user=user), get_client(client), resend=True)


def _send_refund(row: Refund, ctx: Ctx, antom: AntomClient, *, resend: bool = False) -> Refund:
    try:
        answer = antom.refund(
            refund_request_id=row.refund_request_id,
            payment_id=row.payment.payment_id,
            amount=row.money,
            reason=row.reason or None,
            notify_url=antom_settings.NOTIFY_URL,
        )
    except (AntomFailed, AntomOutcomeUnknown) as exc:
        return _settle_answer(row, ctx, exc, resend=resend)
    return _settle_answer(row, ctx, LedgerFact.from_refund(answer))
