"""The capture and refund ledgers: settle a row, re-derive the payment's totals and status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.dispatch import Signal

from .. import signals
from ..client.money import Amount
from ..models import Capture, Payment, PaymentEvent, Refund
from ..state import Decision, decide_ledger, payment_status_from_ledger
from .context import Ctx, flag, ledger_total, move, record, save_payment

C = Capture.Status
R = Refund.Status


@dataclass(frozen=True)
class Book:
    """What differs between the capture and the refund ledger where :func:`settle` treats them alike."""

    noun: str
    """``capture`` / ``refund``: the keyword naming the row in signals, and Antom's ``<noun>Id``."""
    request_id: str
    antom_id: str
    settled_at: str
    event: str
    succeeded: Signal
    failed: Signal


BOOKS: dict[type[Capture | Refund], Book] = {
    Capture: Book(
        "capture",
        "capture_request_id",
        "capture_id",
        "captured_at",
        PaymentEvent.Kind.CAPTURE,
        signals.capture_succeeded,
        signals.capture_failed,
    ),
    Refund: Book(
        "refund",
        "refund_request_id",
        "refund_id",
        "refunded_at",
        PaymentEvent.Kind.REFUND,
        signals.refund_succeeded,
        signals.refund_failed,
    ),
}


def amount_mismatch(expected: Amount, told: Amount | None) -> str:
    """A sentence if Antom's amount differs from ours, else ``""`` (an absent amount is no mismatch)."""
    if told is None or told == expected:
        return ""
    return f"Antom's amount {told} differs from ours {expected}"


def settle(
    payment: Payment,
    row: Capture | Refund,
    target: str | None,
    ctx: Ctx,
    *,
    amount: Amount | None = None,
    antom_id: str = "",
    result_code: str = "",
    result_message: str = "",
    when: datetime | None = None,
    raw: dict[str, Any] | None = None,
) -> Decision | None:
    """Apply one fact about a capture or refund ``row`` (payment locked); ``target`` ``None`` means still unknown.

    A fact naming another amount or another Antom id, contradicting the row's status, or taking the ledger
    past its bound (the authorization for captures, the capture ledger for refunds) only flags the payment.
    """
    book = BOOKS[type(row)]
    request_id = getattr(row, book.request_id)
    known_id = getattr(row, book.antom_id)
    label = f"{book.noun.title()} {request_id}"
    mismatch = amount_mismatch(row.money, amount)
    if mismatch:
        flag(payment, f"{label}: {mismatch}", ctx, **{book.request_id: request_id})
        return None
    if antom_id and known_id and antom_id != known_id:
        flag(payment, f"{label}: Antom's {book.noun}Id changed", ctx)
        return None
    decision = None if target is None else decide_ledger(row.status, target)
    if decision is Decision.CONFLICT:
        flag(payment, f"{label}: Antom says {target} but it is {row.status}", ctx)
        return decision
    if target is None or decision is not Decision.APPLY:
        # Still unknown, or already settled so: at most we learn Antom's id.
        if antom_id and not known_id:
            setattr(row, book.antom_id, antom_id)
            row.save(update_fields=[book.antom_id, "updated_at"])
        return decision
    if target == C.SUCCEEDED:
        captured, refunded, excess = _totals_with(payment, row)
        if excess:
            flag(payment, excess, ctx)
            return None
    previous = row.status
    row.status = target
    setattr(row, book.antom_id, antom_id or known_id)
    row.result_code = result_code or row.result_code
    row.result_message = (result_message or row.result_message)[:256]
    setattr(row, book.settled_at, when or getattr(row, book.settled_at))
    if raw is not None:
        row.gateway_data = raw
    row.save()
    record(
        payment,
        book.event,
        ctx,
        from_status=previous,
        to_status=target,
        row=row,
        amount=row.amount,
        result_code=result_code,
    )
    if target == C.SUCCEEDED:
        signals.send_on_commit(book.succeeded, payment=payment, source=ctx.source, **{book.noun: row})
        final = isinstance(row, Capture) and bool(row.is_last_capture)
        rederive(payment, ctx, captured=captured, refunded=refunded, final_capture=final)
    else:
        signals.send_on_commit(book.failed, payment=payment, source=ctx.source, **{book.noun: row})
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


def rederive(payment: Payment, ctx: Ctx, *, captured: int, refunded: int | None, final_capture: bool) -> None:
    """Set the captured/refunded totals the ledgers add up to (the refunds summed here unless the caller just
    did) and move the status they call for."""
    if refunded is None:
        refunded = ledger_total(payment.refunds, R.SUCCEEDED)
    if refunded > captured or captured > payment.amount:
        # The settle checks keep the ledgers within bounds; if they are not, a person must look, and the
        # totals stay as they were rather than failing the database constraints.
        flag(payment, f"Ledgers total captured {captured}, refunded {refunded} of {payment.amount}", ctx)
        return
    if (captured, refunded) != (payment.captured_amount, payment.refunded_amount):
        payment.captured_amount, payment.refunded_amount = captured, refunded
        save_payment(payment, ctx, "captured_amount", "refunded_amount")
    target = payment_status_from_ledger(
        payment.status, amount=payment.amount, captured=captured, refunded=refunded, final_capture=final_capture
    )
    if target != payment.status:
        move(payment, target, ctx, captured=captured, refunded=refunded)


def find_capture(payment: Payment, request_id: str, capture_id: str) -> Capture | None:
    """Our capture row for Antom's ids, or the automatic capture still waiting for its ids."""
    if request_id:
        found = payment.captures.filter(capture_request_id=request_id).first()
        if found is not None:
            return found
    if capture_id:
        found = payment.captures.filter(capture_id=capture_id).first()
        if found is not None:
            return found
    return payment.captures.filter(origin=Capture.Origin.AUTOMATIC, capture_id="").order_by("pk").first()


def adopt_capture(payment: Payment, request_id: str, amount: Amount | None, ctx: Ctx) -> Capture | None:
    """Create the ledger row for a capture Antom made on its own (automatic capture, dashboard)."""
    if amount is None or amount.currency != payment.currency:
        flag(payment, f"Capture {request_id or '?'} we did not ask for, with amount {amount}", ctx)
        return None
    in_flight = ledger_total(payment.captures, C.SUCCEEDED, C.PENDING)
    if amount.value <= 0 or in_flight + amount.value > payment.amount:
        flag(payment, f"Capture {request_id or '?'} of {amount} would exceed the authorization", ctx)
        return None
    fields: dict[str, Any] = {"payment": payment, "amount": amount.value, "currency": payment.currency}
    if request_id and not Capture.objects.filter(capture_request_id=request_id).exists():
        fields["capture_request_id"] = request_id
    return Capture.objects.create(origin=Capture.Origin.AUTOMATIC, source=ctx.source, **fields)


def adopt_refund(payment: Payment, request_id: str, amount: Amount | None, ctx: Ctx) -> Refund | None:
    """Create the ledger row for a refund made outside this app (e.g. in Antom's dashboard)."""
    if amount is None or amount.currency != payment.currency:
        flag(payment, f"Refund {request_id or '?'} we did not ask for, with amount {amount}", ctx)
        return None
    in_flight = ledger_total(payment.refunds, R.SUCCEEDED, R.PENDING)
    if amount.value <= 0 or in_flight + amount.value > ledger_total(payment.captures, C.SUCCEEDED):
        flag(payment, f"Refund {request_id or '?'} of {amount} would exceed what was captured", ctx)
        return None
    fields: dict[str, Any] = {"payment": payment, "amount": amount.value, "currency": payment.currency}
    if request_id and not Refund.objects.filter(refund_request_id=request_id).exists():
        fields["refund_request_id"] = request_id
    return Refund.objects.create(source=ctx.source, **fields)
