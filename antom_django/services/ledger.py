"""The capture and refund ledgers: settle a row, re-derive the payment's totals and status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.dispatch import Signal

from .. import signals
from ..client.money import Amount
from ..client.types import (
    CaptureNotification,
    CaptureResult,
    RefundInquiry,
    RefundNotification,
    RefundResult,
    Result,
    Transaction,
)
from ..models import Capture, Payment, Refund
from ..state import (
    Decision,
    decide_ledger,
    ledger_status_from_result,
    ledger_status_from_transaction,
    payment_status_from_ledger,
    refund_status_from_notification,
)
from .context import Change, flag, ledger_total, move, record

C = Capture.Status
R = Refund.Status

SIGNALS: dict[type[Capture | Refund], tuple[Signal, Signal]] = {
    Capture: (signals.capture_succeeded, signals.capture_failed),
    Refund: (signals.refund_succeeded, signals.refund_failed),
}
"""A ledger → its (succeeded, failed) signals."""


@dataclass(frozen=True)
class LedgerFact:
    """Antom's statement about one capture or refund, whichever message carried it."""

    target: str | None
    """SUCCEEDED or FAILED; ``None``: still unknown."""
    request_id: str = ""
    antom_id: str = ""
    amount: Amount | None = None
    result: Result | None = None
    when: datetime | None = None
    raw: dict[str, Any] | None = None

    @classmethod
    def from_capture(cls, message: CaptureResult | CaptureNotification) -> LedgerFact:
        """The capture answer or a CAPTURE_RESULT notification: ``result`` S or F decides."""
        result = message.result
        return cls(
            target=ledger_status_from_result(result.status) if result else None,
            request_id=message.capture_request_id,
            antom_id=message.capture_id,
            amount=message.capture_amount,
            result=result,
            when=message.capture_time,
            raw=message.raw,
        )

    @classmethod
    def from_refund(cls, message: RefundResult | RefundNotification) -> LedgerFact:
        """The refund answer (``result`` decides) or a REFUND_RESULT notification (``refundStatus`` first)."""
        result = message.result
        status = message.refund_status if isinstance(message, RefundNotification) else ""
        return cls(
            target=refund_status_from_notification(status, result.status if result else ""),
            request_id=message.refund_request_id,
            antom_id=message.refund_id,
            amount=message.refund_amount,
            result=result,
            when=message.refund_time,
            raw=message.raw,
        )

    @classmethod
    def from_refund_inquiry(cls, answer: RefundInquiry) -> LedgerFact:
        """An inquiryRefund answer: ``refundStatus`` decides (its ``result`` is about the inquiry)."""
        return cls(
            target=refund_status_from_notification(answer.refund_status, ""),
            request_id=answer.refund_request_id,
            antom_id=answer.refund_id,
            amount=answer.refund_amount,
            when=answer.refund_time,
            raw=answer.raw,
        )

    @classmethod
    def from_transaction(cls, tx: Transaction) -> LedgerFact:
        """An inquiryPayment ``transactions[]`` item."""
        return cls(
            target=ledger_status_from_transaction(tx.status, tx.result.status if tx.result else None),
            request_id=tx.request_id,
            antom_id=tx.id,
            amount=tx.amount,
            result=tx.result,
            when=tx.time,
            raw=tx.raw,
        )


def amount_mismatch(expected: Amount, told: Amount | None) -> str:
    """A sentence if Antom's amount differs from ours, else ``""`` (an absent amount is no mismatch)."""
    if told is None or told == expected:
        return ""
    return f"Antom's amount {told} differs from ours {expected}"


def rows_of(payment: Payment, ledger: type[Capture | Refund]) -> QuerySet[Any]:
    """The payment's rows in this ledger."""
    return ledger.objects.filter(payment=payment)


def apply_ledger_fact(change: Change, ledger: type[Capture | Refund], fact: LedgerFact) -> None:
    """A capture or refund fact from a notification or an inquiry (payment locked): find or adopt the row,
    then settle it."""
    row = find_row(change.payment, ledger, fact)
    if row is None and fact.target == C.SUCCEEDED:
        row = adopt(change, ledger, fact)
    # No row: a failed or unsettled capture or refund we never asked for moved no money.
    if row is not None:
        settle(change, row, fact)


def find_row(payment: Payment, ledger: type[Capture | Refund], fact: LedgerFact) -> Capture | Refund | None:
    """Our row for Antom's ids (request id first), or for a capture, the automatic one still waiting for ids."""
    rows = rows_of(payment, ledger)
    if fact.request_id:
        found = rows.filter(ledger.with_request_id(fact.request_id)).first()
        if found is not None:
            return found
    if fact.antom_id:
        found = rows.filter(ledger.with_antom_id(fact.antom_id)).first()
        if found is not None:
            return found
    if ledger is Capture:
        return rows.filter(Capture.with_antom_id(""), origin=Capture.Origin.AUTOMATIC).order_by("pk").first()
    return None


def adopt(change: Change, ledger: type[Capture | Refund], fact: LedgerFact) -> Capture | Refund | None:
    """Create the ledger row for a capture or refund Antom made without our asking (automatic capture,
    Antom's dashboard), if it fits within the ledger's bound."""
    payment, amount = change.payment, fact.amount
    label = f"{ledger.noun.title()} {fact.request_id or '?'}"
    if amount is None or amount.currency != payment.currency:
        flag(change, f"{label} we did not ask for, with amount {amount}")
        return None
    if ledger is Capture:
        bound, what = payment.amount, "the authorization"
    else:
        bound, what = ledger_total(payment.captures, C.SUCCEEDED), "what was captured"
    in_flight = ledger_total(rows_of(payment, ledger), C.SUCCEEDED, C.PENDING)
    if amount.value <= 0 or in_flight + amount.value > bound:
        flag(change, f"{label} of {amount} would exceed {what}")
        return None
    row = ledger(payment=payment, amount=amount.value, currency=payment.currency, source=change.ctx.source)
    if isinstance(row, Capture):
        row.origin = Capture.Origin.AUTOMATIC
    if fact.request_id and not ledger.objects.filter(ledger.with_request_id(fact.request_id)).exists():
        row.request_id = fact.request_id
    row.save(force_insert=True)
    return row


def settle(change: Change, row: Capture | Refund, fact: LedgerFact) -> Decision | None:
    """Apply one fact about a capture or refund ``row`` (payment locked).

    A fact naming another amount or another Antom id, contradicting the row's status, or taking the ledger
    past its bound (the authorization for captures, the capture ledger for refunds) only flags the payment.
    """
    payment, ctx, target = change.payment, change.ctx, fact.target
    label = f"{row.noun.title()} {row.request_id}"
    mismatch = amount_mismatch(row.money, fact.amount)
    if mismatch:
        flag(change, f"{label}: {mismatch}", **{f"{row.noun}_request_id": row.request_id})
        return None
    if fact.antom_id and row.antom_id and fact.antom_id != row.antom_id:
        flag(change, f"{label}: Antom's {row.noun}Id changed")
        return None
    decision = None if target is None else decide_ledger(row.status, target)
    if decision is Decision.CONFLICT:
        flag(change, f"{label}: Antom says {target} but it is {row.status}")
        return decision
    if target is None or decision is not Decision.APPLY:
        # Still unknown, or already settled so: at most we learn Antom's id.
        if fact.antom_id and not row.antom_id:
            row.antom_id = fact.antom_id
            row.save()
        return decision
    if target == C.SUCCEEDED:
        captured, refunded, excess = _totals_with(payment, row)
        if excess:
            flag(change, excess)
            return None
    previous = row.status
    row.status = target
    row.antom_id = fact.antom_id or row.antom_id
    if fact.result is not None:
        row.result_code = fact.result.code or row.result_code
        row.result_message = (fact.result.message or row.result_message)[:256]
    row.settled_at = fact.when or row.settled_at
    if fact.raw is not None:
        row.gateway_data = fact.raw
    row.save()
    result_code = fact.result.code if fact.result else ""
    succeeded, failed = SIGNALS[type(row)]
    record(
        payment,
        row.event_kind,
        ctx,
        from_status=previous,
        to_status=target,
        row=row,
        announce=[succeeded if target == C.SUCCEEDED else failed],
        amount=row.amount,
        result_code=result_code,
    )
    if target == C.SUCCEEDED:
        final = isinstance(row, Capture) and bool(row.is_last_capture)
        rederive(change, captured=captured, refunded=refunded, final_capture=final)
    return decision


def _totals_with(payment: Payment, row: Capture | Refund) -> tuple[int, int | None, str]:
    """Captured and (for a refund) refunded totals once ``row`` succeeds, and why they would be too much."""
    captured = ledger_total(payment.captures, C.SUCCEEDED)
    if isinstance(row, Capture):
        captured += row.amount
        if captured > payment.amount:
            return captured, None, f"Captures would total {captured}, more than the amount {payment.amount}"
        return captured, None, ""
    # Against the capture ledger, not the column: the totals are re-derived from the ledger, and a
    # refund it does not cover would break refunded <= captured (a constraint, so a retried 503).
    refunded = ledger_total(payment.refunds, R.SUCCEEDED) + row.amount
    if refunded > captured:
        return captured, refunded, f"Refunds would total {refunded}, more than captured {captured}"
    return captured, refunded, ""


def rederive(change: Change, *, captured: int, refunded: int | None, final_capture: bool) -> None:
    """Set the captured/refunded totals the ledgers add up to (the refunds summed here unless the caller just
    did) and move the status they call for."""
    payment = change.payment
    if refunded is None:
        refunded = ledger_total(payment.refunds, R.SUCCEEDED)
    if refunded > captured or captured > payment.amount:
        # The settle checks keep the ledgers within bounds; if they are not, a person must look, and the
        # totals stay as they were rather than failing the database constraints.
        flag(change, f"Ledgers total captured {captured}, refunded {refunded} of {payment.amount}")
        return
    if (captured, refunded) != (payment.captured_amount, payment.refunded_amount):
        payment.captured_amount, payment.refunded_amount = captured, refunded
        change.save("captured_amount", "refunded_amount")
    target = payment_status_from_ledger(
        payment.status, amount=payment.amount, captured=captured, refunded=refunded, final_capture=final_capture
    )
    if target != payment.status:
        move(change, target, captured=captured, refunded=refunded)
