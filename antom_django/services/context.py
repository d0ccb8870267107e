"""What every state change needs to know: who told us, and the shared helpers that record it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from .. import signals
from ..conf import antom_settings
from ..models import Capture, Payment, PaymentEvent, Refund, Source
from ..state import PAYMENT_PAID, Decision, decide_payment
from .rows import insert_row, update_row

if TYPE_CHECKING:
    from ..client.api import AntomClient
    from ..models import Notification


@dataclass
class Ctx:
    """The source of a fact or request, carried to every event and signal it causes."""

    source: str = Source.SYSTEM
    notification: Notification | None = None
    user: Any = None
    reviews: list[str] = field(default_factory=list)
    """Review reasons raised while applying (so a notification can record them)."""
    unsaved: set[str] | None = None
    """Payment fields changed and not yet written, while a :func:`batched` block is open."""


def get_client(client: AntomClient | None) -> AntomClient:
    """The injected client (tests, several accounts) or the shared one built from settings."""
    return client if client is not None else antom_settings.get_client()


def lock(payment: Payment | int) -> Payment:
    """Re-read the payment with its row locked; call inside ``transaction.atomic``."""
    pk = payment.pk if isinstance(payment, Payment) else payment
    return Payment.objects.select_for_update().get(pk=pk)


def save_payment(payment: Payment, ctx: Ctx, *fields: str) -> None:
    """Write these fields of the (locked) payment now, or once when the open :func:`batched` block ends."""
    if ctx.unsaved is not None:
        ctx.unsaved.update(fields)
    else:
        payment.save(update_fields=[*fields, "updated_at"])


def write_fields(payment: Payment, fields: Iterable[str]) -> None:
    """One UPDATE of just these columns (and ``updated_at``): no full-row save, no model signals."""
    now = timezone.now()
    update_row(Payment, payment.pk, {"updated_at": now, **{name: getattr(payment, name) for name in fields}})
    payment.updated_at = now


@contextmanager
def batched(payment: Payment, ctx: Ctx) -> Iterator[None]:
    """Collect every change made to the locked payment inside the block and write them in one UPDATE.

    A status move and the facts that came with it are one row version instead of several; nothing in
    between reads the payment row back from the database (ledger totals come from the ledger rows).
    """
    ctx.unsaved = set()
    try:
        yield
        if ctx.unsaved:
            write_fields(payment, ctx.unsaved)
    finally:
        ctx.unsaved = None


def payment_ref(payment: Payment) -> dict[str, str]:
    """How a request names the payment to Antom: its paymentId once known, else our paymentRequestId."""
    if payment.payment_id:
        return {"payment_id": payment.payment_id}
    return {"payment_request_id": payment.payment_request_id}


def user_or_none(user: Any) -> Any:
    """Only saved users go in foreign keys (``AnonymousUser`` does not)."""
    return user if getattr(user, "pk", None) is not None and getattr(user, "is_authenticated", False) else None


def record(
    payment: Payment,
    kind: str,
    ctx: Ctx,
    *,
    from_status: str = "",
    to_status: str = "",
    row: Capture | Refund | None = None,
    **detail: Any,
) -> PaymentEvent:
    """Append one line to the payment's timeline (``row``: the capture or refund it concerns)."""
    event = PaymentEvent(
        payment=payment,
        kind=kind,
        source=ctx.source,
        from_status=from_status,
        to_status=to_status,
        capture=row if isinstance(row, Capture) else None,
        refund=row if isinstance(row, Refund) else None,
        notification=ctx.notification if ctx.notification is not None and ctx.notification.pk else None,
        user=user_or_none(ctx.user),
        detail={k: v for k, v in detail.items() if v not in (None, "")},
    )
    insert_row(event)
    return event


def flag(payment: Payment, reason: str, ctx: Ctx, **detail: Any) -> None:
    """Mark the payment for review (once per distinct reason) without touching its status."""
    ctx.reviews.append(reason)
    if payment.needs_review and reason in payment.review_reason.splitlines():
        return
    payment.needs_review = True
    payment.review_reason = "\n".join(filter(None, [payment.review_reason, reason]))
    save_payment(payment, ctx, "needs_review", "review_reason")
    record(payment, PaymentEvent.Kind.REVIEW, ctx, reason=reason, **detail)
    signals.send_on_commit(signals.payment_needs_review, payment=payment, source=ctx.source, reason=reason)


def move(payment: Payment, target: str, ctx: Ctx, **detail: Any) -> Decision:
    """Move the (locked) payment to ``target`` if the state table allows it; flag contradictions."""
    current = payment.status
    decision = decide_payment(current, target)
    if decision is Decision.CONFLICT:
        flag(payment, f"Antom says {target} but the payment is {current}", ctx, **detail)
    if decision is not Decision.APPLY:
        return decision
    payment.status = target
    save_payment(payment, ctx, "status")
    record(payment, PaymentEvent.Kind.STATUS, ctx, from_status=current, to_status=target, **detail)
    send = signals.send_on_commit
    send(signals.payment_status_changed, payment=payment, source=ctx.source, from_status=current, to_status=target)
    P = Payment.Status
    if payment.is_authorization and current not in PAYMENT_PAID and target in PAYMENT_PAID:
        send(signals.payment_authorized, payment=payment, source=ctx.source)
    if target == P.SUCCEEDED:
        send(signals.payment_succeeded, payment=payment, source=ctx.source)
    elif target == P.FAILED:
        send(signals.payment_failed, payment=payment, source=ctx.source)
    elif target == P.CANCELLED:
        send(signals.payment_cancelled, payment=payment, source=ctx.source)
    return decision


def ledger_total(queryset: Any, *statuses: str) -> int:
    """Sum of ``amount`` over ledger rows in ``statuses``."""
    return int(queryset.filter(status__in=statuses).aggregate(total=Sum("amount"))["total"] or 0)


def atomic() -> Any:
    """``transaction.atomic`` on the default database (one place to change it)."""
    return transaction.atomic()
