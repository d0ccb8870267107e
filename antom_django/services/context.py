"""What every state change needs: who told us (:class:`Ctx`), where it is written (:class:`Change`), and the
shared helpers that record it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from .. import signals
from ..conf import antom_settings
from ..models import Capture, Payment, PaymentEvent, Refund, Source
from ..state import PAYMENT_PAID, Decision, decide_payment
from . import outbox
from .auth_hooks import lapsed, on_authorized
from .rows import insert_row, update_row

if TYPE_CHECKING:
    from ..client.api import AntomClient
    from ..models import Notification


@dataclass(frozen=True)
class Ctx:
    """Who told us (or asked): the source, notification and user carried to every event and signal."""

    source: str = Source.SYSTEM
    notification: Notification | None = None
    user: Any = None


class Change:
    """One apply to one locked payment: the one place its row is written.

    Every rule that changes the payment marks the fields it set (:meth:`save`) and the review reasons it
    raised; the apply entry point :meth:`flush`-es once, so a status move and the facts that came with it
    are one row version. Nothing in between reads the payment row back (ledger totals come from the
    ledger rows).
    """

    def __init__(self, payment: Payment, ctx: Ctx) -> None:
        self.payment = payment
        self.ctx = ctx
        self.dirty: set[str] = set()
        """Payment fields set and not yet written."""
        self.reviews: list[str] = []
        """Review reasons raised (so a notification can record them)."""

    def save(self, *fields: str) -> None:
        """These fields of the payment were set; they are written by :meth:`flush`."""
        self.dirty.update(fields)

    def flush(self, *also: str) -> bool:
        """Write the fields set (and ``also``, if any were) with ``updated_at`` in one UPDATE.

        Returns ``False``, writing nothing, when nothing was set.
        """
        if not self.dirty:
            return False
        now = timezone.now()
        names = self.dirty.union(also)
        update_row(Payment, self.payment.pk, {"updated_at": now, **{n: getattr(self.payment, n) for n in names}})
        self.payment.updated_at = now
        self.dirty.clear()
        return True


@contextmanager
def changing(payment: Payment, ctx: Ctx) -> Iterator[Change]:
    """A :class:`Change` of the locked payment, flushed when the block ends without an error."""
    change = Change(payment, ctx)
    yield change
    change.flush()


def get_client(client: AntomClient | None) -> AntomClient:
    """The injected client (tests, several accounts) or the shared one built from settings."""
    return client if client is not None else antom_settings.get_client()


def lock(payment: Payment | int) -> Payment:
    """Re-read the payment with its row locked; call inside ``transaction.atomic``."""
    pk = payment.pk if isinstance(payment, Payment) else payment
    return Payment.objects.select_for_update().get(pk=pk)


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
    announce: Sequence[signals.Signal] = (),
    **detail: Any,
) -> PaymentEvent:
    """Append one line to the payment's timeline (``row``: the capture or refund it concerns).

    ``announce``: the signals this event's transition sends, in order, once the transaction commits; they ride
    in the event's own row until sent (:mod:`~antom_django.services.outbox`).
    """
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
    if announce:
        outbox.hold(event, list(announce), timezone.now())
    insert_row(event)
    if announce:
        outbox.announce(event, payment)
    return event


def flag(change: Change, reason: str, **detail: Any) -> None:
    """Mark the payment for review (once per distinct reason) without touching its status."""
    payment, ctx = change.payment, change.ctx
    change.reviews.append(reason)
    if payment.needs_review and reason in payment.review_reason.splitlines():
        return
    payment.needs_review = True
    payment.review_reason = "\n".join(filter(None, [payment.review_reason, reason]))
    change.save("needs_review", "review_reason")
    record(payment, PaymentEvent.Kind.REVIEW, ctx, announce=[signals.payment_needs_review], reason=reason, **detail)


def flag_once(payment: Payment, reasons: list[str], source: str) -> None:
    """Flag the payment for each reason it was never flagged for: an operator who cleared one is not asked again
    (for what stays unsettled past a window, looked at again on every follow-up)."""
    flagged = set(
        PaymentEvent.objects.filter(
            payment=payment, kind=PaymentEvent.Kind.REVIEW, detail__reason__in=reasons
        ).values_list("detail__reason", flat=True)
    )
    todo = [reason for reason in reasons if reason not in flagged]
    if not todo:
        return
    with atomic():
        change = Change(lock(payment), Ctx(source=source))
        for reason in todo:
            flag(change, reason)
        change.flush()


def move(change: Change, target: str, *, expired: bool = False, **detail: Any) -> Decision:
    """Move the (locked) payment to ``target`` if the state table allows it; flag contradictions.

    ``expired``: the move also ends the authorization by its expiry (``payment_authorization_expired``).
    """
    payment, ctx = change.payment, change.ctx
    current = payment.status
    decision = decide_payment(current, target)
    if decision is Decision.CONFLICT:
        flag(change, f"Antom says {target} but the payment is {current}", **detail)
    if decision is not Decision.APPLY:
        return decision
    P = Payment.Status
    authorized = payment.is_authorization and current not in PAYMENT_PAID and target in PAYMENT_PAID
    announce = [signals.payment_status_changed]
    if authorized:
        announce.append(signals.payment_authorized)
    announce.extend(FINAL_SIGNALS.get(target, ()))
    if expired or (target == P.CANCELLED and lapsed(payment, current)):
        announce.append(signals.payment_authorization_expired)
    payment.status = target
    change.save("status")
    record(payment, PaymentEvent.Kind.STATUS, ctx, from_status=current, to_status=target, announce=announce, **detail)
    if authorized:
        problem = on_authorized(change)
        if problem:
            flag(change, problem)
    if target == P.CANCELLED and payment.cancel_requested_at is not None:
        payment.cancel_requested_at = None  # the cancel is no longer in flight: it happened
        change.save("cancel_requested_at")
    return decision


FINAL_SIGNALS: dict[str, tuple[signals.Signal, ...]] = {
    Payment.Status.SUCCEEDED: (signals.payment_succeeded,),
    Payment.Status.FAILED: (signals.payment_failed,),
    Payment.Status.CANCELLED: (signals.payment_cancelled,),
}
"""The signal a move to each final status sends after ``payment_status_changed``."""


def ledger_total(queryset: Any, *statuses: str) -> int:
    """Sum of ``amount`` over ledger rows in ``statuses``."""
    return int(queryset.filter(status__in=statuses).aggregate(total=Sum("amount"))["total"] or 0)


WRITE_LOCK_MODES = ("IMMEDIATE", "EXCLUSIVE")
"""SQLite ``BEGIN`` modes that take the write lock up front."""


@contextmanager
def atomic() -> Iterator[None]:
    """``transaction.atomic`` on the default database; on SQLite it takes the write lock up front.

    Every transaction here reads and then writes. SQLite starts a plain ``BEGIN`` as a reader, and a reader
    that then writes while another connection writes fails at once with "database is locked", whatever the
    busy timeout (waiting could deadlock). The outermost block therefore starts with ``BEGIN IMMEDIATE``,
    which waits its turn (the busy timeout) before reading; the project's own transactions keep its
    ``OPTIONS["transaction_mode"]``. Nested in a caller's transaction, this is a savepoint of it.
    """
    connection = transaction.get_connection()
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        with transaction.atomic():
            yield
        return
    connection.ensure_connection()  # connecting resets transaction_mode from the settings
    mode = connection.transaction_mode
    connection.transaction_mode = mode if mode in WRITE_LOCK_MODES else "IMMEDIATE"
    try:
        with transaction.atomic():
            connection.transaction_mode = mode  # BEGIN was sent; restore now
            yield
    finally:
        connection.transaction_mode = mode
