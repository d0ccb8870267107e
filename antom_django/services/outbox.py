"""The signal outbox: a transition's signals are written on its event row and cleared once sent.

:func:`~antom_django.services.context.record` stores the names of the signals an event announces (and when the
sweep may take them over) in the event's own INSERT, in the transaction that makes the transition. After the
commit, :func:`deliver` sends them and clears the columns. A process that dies in between (SIGKILL, OOM, a
deploy) leaves them set; :func:`resend`, run by every sweep, sends them once ``SIGNAL_RESEND_AFTER`` has passed.
So every transition's signals are sent at least once, and a second time only after such a death: receivers
that must act exactly once key on ``event.pk``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .. import signals
from ..conf import antom_settings
from ..models import Payment, PaymentEvent
from .rows import update_row

logger = logging.getLogger("antom_django.signals")

RESENT = "were not sent by the process that recorded them"
"""Part of the WARNING :func:`resend` logs for each event whose signals it sends (the chaos suite counts them)."""


def resend_after() -> timedelta:
    """How long unsent signals wait before the sweep sends them (their process is presumed dead by then)."""
    return timedelta(seconds=float(antom_settings.SIGNAL_RESEND_AFTER))


def hold(event: PaymentEvent, announced: list[signals.Signal], now: datetime) -> None:
    """Put ``announced`` in the (not yet inserted) event's outbox columns."""
    event.signals = ",".join(signals.NAME_OF[signal] for signal in announced)
    event.signal_after = now + resend_after()


def announce(event: PaymentEvent, payment: Payment) -> None:
    """Send the (inserted) event's signals once the current transaction commits (at once outside one).

    Robust: whatever fails there is logged, never raised into code that already committed; the sweep sends the
    event's signals again.
    """
    transaction.on_commit(lambda: deliver(event, payment), robust=True)


def deliver(event: PaymentEvent, payment: Payment) -> None:
    """Send the event's signals in order with the payment as it is, then clear its outbox columns."""
    for name in filter(None, event.signals.split(",")):
        signals.send_now(signals.BY_NAME[name], **arguments(name, event, payment))
    try:
        update_row(PaymentEvent, event.pk, {"signals": "", "signal_after": None})
    except DatabaseError:
        # Sent, but not marked: the sweep sends them again (receivers key on event.pk).
        logger.warning("signals of payment event %s sent but not marked sent", event.pk, exc_info=True)
        return
    event.signals, event.signal_after = "", None


def arguments(name: str, event: PaymentEvent, payment: Payment) -> dict[str, Any]:
    """The keyword arguments signal ``name`` is sent with, all read from the event (and the payment)."""
    kwargs: dict[str, Any] = {"payment": payment, "source": event.source, "event": event}
    if name == "payment_status_changed":
        kwargs.update(from_status=event.from_status, to_status=event.to_status)
    elif name.startswith("capture_"):
        kwargs["capture"] = event.capture
    elif name.startswith("refund_"):
        kwargs["refund"] = event.refund
    elif name == "payment_needs_review":
        kwargs["reason"] = event.detail.get("reason", "")
    elif name == "payment_authorization_expiring":
        kwargs.update(policy=event.detail.get("policy", ""), expires_at=parse_datetime(event.detail["expires_at"]))
    elif name == "payment_authorization_expired":
        kwargs["captured_amount"] = payment.captured_amount
    return kwargs


def overdue(now: datetime | None = None) -> QuerySet[PaymentEvent]:
    """Events whose signals are unsent past ``SIGNAL_RESEND_AFTER`` (or past a lapsed claim), the oldest first."""
    return (
        PaymentEvent.objects.filter(signal_after__lte=now or timezone.now())
        .select_related("payment", "capture", "refund")
        .order_by("signal_after", "pk")
    )


def resend(*, limit: int = 500, now: datetime | None = None, pk: int | None = None) -> int:
    """Send the signals left unsent past ``SIGNAL_RESEND_AFTER`` (of event ``pk`` only, if given); returns how many
    events were sent.

    Each event is claimed first (its ``signal_after`` moved on by compare-and-set), so concurrent sweeps send it
    once; a sweep that dies while sending leaves the claim to lapse, and the next one sends it.
    """
    now = now or timezone.now()
    due = overdue(now)
    if pk is not None:
        due = due.filter(pk=pk)
    due = due[:limit]
    sent = 0
    for event in due:
        claimed = PaymentEvent.objects.filter(pk=event.pk, signal_after=event.signal_after)
        if not claimed.update(signal_after=now + resend_after()):
            continue  # another sweep has it, or its process sent it meanwhile
        logger.warning(
            "payment event %s: signals %s " + RESENT + "; sending them now",
            event.pk,
            event.signals,
        )
        deliver(event, event.payment)
        sent += 1
    return sent
