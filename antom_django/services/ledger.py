"""The capture and refund ledgers: settle a row, re-derive the payment's totals and status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .. import signals
from ..client.money import Amount
from ..models import Capture, Payment, PaymentEvent, Refund
from ..state import Decision, decide_capture, decide_refund, payment_status_from_ledger
from .context import Ctx, flag, ledger_total, move, record, save_payment

C = Capture.Status
R = Refund.Status


def amount_mismatch(expected: Amount, told: Amount | None) -> str:
    """A sentence if Antom's amount differs from ours, else ``""`` (an absent amount is no mismatch)."""
    if told is None or told == expected:
        return ""
    return f"Antom's amount {told} differs from ours {expected}"


def settle_capture(
    payment: Payment,
    capture: Capture,
    target: str | None,
    ctx: Ctx,
    *,
    amount: Amount | None = None,
    capture_id: str = "",
    result_code: str = "",
    result_message: str = "",
    when: datetime | None = None,
    raw: dict[str, Any] | None = None,
) -> Decision | None:
    """Apply one fact about ``capture`` (payment locked); ``target`` ``None`` means still unknown."""
    mismatch = amount_mismatch(capture.money, amount)
    if mismatch:
        flag(
            payment,
            f"Capture {capture.capture_request_id}: {mismatch}",
            ctx,
            capture_request_id=capture.capture_request_id,
        )
        return None
    if capture_id and capture.capture_id and capture_id != capture.capture_id:
        flag(payment, f"Capture {capture.capture_request_id}: Antom's captureId changed", ctx)
        return None
    if target is None:
        if capture_id and not capture.capture_id:
            capture.capture_id = capture_id
            capture.save(update_fields=["capture_id", "updated_at"])
        return None
    decision = decide_capture(capture.status, target)
    if decision is Decision.CONFLICT:
        flag(payment, f"Capture {capture.capture_request_id}: Antom says {target} but it is {capture.status}", ctx)
        return decision
    if decision is Decision.SAME:
        if capture_id and not capture.capture_id:
            capture.capture_id = capture_id
            capture.save(update_fields=["capture_id", "updated_at"])
        return decision
    if target == C.SUCCEEDED:
        total = ledger_total(payment.captures, C.SUCCEEDED) + capture.amount
        if total > payment.amount:
            flag(payment, f"Captures would total {total}, more than the amount {payment.amount}", ctx)
            return None
    previous = capture.status
    capture.status = target
    capture.capture_id = capture_id or capture.capture_id
    capture.result_code = result_code or capture.result_code
    capture.result_message = (result_message or capture.result_message)[:256]
    capture.captured_at = when or capture.captured_at
    if raw is not None:
        capture.gateway_data = raw
    capture.save()
    record(
        payment,
        PaymentEvent.Kind.CAPTURE,
        ctx,
        from_status=previous,
        to_status=target,
        capture=capture,
        amount=capture.amount,
        result_code=result_code,
    )
    if target == C.SUCCEEDED:
        signals.send_on_commit(signals.capture_succeeded, payment=payment, capture=capture, source=ctx.source)
        rederive(payment, ctx, final_capture=bool(capture.is_last_capture))
    else:
        signals.send_on_commit(signals.capture_failed, payment=payment, capture=capture, source=ctx.source)
    return decision


def settle_refund(
    payment: Payment,
    refund: Refund,
    target: str | None,
    ctx: Ctx,
    *,
    amount: Amount | None = None,
    refund_id: str = "",
    result_code: str = "",
    result_message: str = "",
    when: datetime | None = None,
    raw: dict[str, Any] | None = None,
) -> Decision | None:
    """Apply one fact about ``refund`` (payment locked); ``target`` ``None`` means still unknown."""
    mismatch = amount_mismatch(refund.money, amount)
    if mismatch:
        flag(payment, f"Refund {refund.refund_request_id}: {mismatch}", ctx, refund_request_id=refund.refund_request_id)
        return None
    if refund_id and refund.refund_id and refund_id != refund.refund_id:
        flag(payment, f"Refund {refund.refund_request_id}: Antom's refundId changed", ctx)
        return None
    if target is None or decide_refund(refund.status, target) is Decision.SAME:
        if refund_id and not refund.refund_id:
            refund.refund_id = refund_id
            refund.save(update_fields=["refund_id", "updated_at"])
        return None if target is None else Decision.SAME
    decision = decide_refund(refund.status, target)
    if decision is Decision.CONFLICT:
        flag(payment, f"Refund {refund.refund_request_id}: Antom says {target} but it is {refund.status}", ctx)
        return decision
    if target == R.SUCCEEDED:
        # Against the capture ledger, not the column: the totals are re-derived from the ledger, and a
        # refund it does not cover would break refunded <= captured (a constraint, so a retried 503).
        captured = ledger_total(payment.captures, C.SUCCEEDED)
        total = ledger_total(payment.refunds, R.SUCCEEDED) + refund.amount
        if total > captured:
            flag(payment, f"Refunds would total {total}, more than captured {captured}", ctx)
            return None
    previous = refund.status
    refund.status = target
    refund.refund_id = refund_id or refund.refund_id
    refund.result_code = result_code or refund.result_code
    refund.result_message = (result_message or refund.result_message)[:256]
    refund.refunded_at = when or refund.refunded_at
    if raw is not None:
        refund.gateway_data = raw
    refund.save()
    record(
        payment,
        PaymentEvent.Kind.REFUND,
        ctx,
        from_status=previous,
        to_status=target,
        refund=refund,
        amount=refund.amount,
        result_code=result_code,
    )
    if target == R.SUCCEEDED:
        signals.send_on_commit(signals.refund_succeeded, payment=payment, refund=refund, source=ctx.source)
        rederive(payment, ctx)
    else:
        signals.send_on_commit(signals.refund_failed, payment=payment, refund=refund, source=ctx.source)
    return decision


def rederive(payment: Payment, ctx: Ctx, *, final_capture: bool = False) -> None:
    """Recompute captured/refunded totals from the ledgers and move the status they call for."""
    captured = ledger_total(payment.captures, C.SUCCEEDED)
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
    capture = Capture.objects.create(origin=Capture.Origin.AUTOMATIC, source=ctx.source, **fields)
    return capture


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
