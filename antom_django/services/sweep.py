"""The sweep: the slow safety net behind the due queue, for cron and Celery beat alike.

Every ``SWEEP_INTERVAL`` it applies stored notifications left unapplied, sends the signals a dead process left
unsent (:mod:`~antom_django.services.outbox`), then asks Antom about every unsettled
payment nobody has heard of for ``SWEEP_INTERVAL`` — whatever its ``next_check_at`` says, so a payment the
due queue lost track of is still settled. What it changes is on each payment's timeline with source SWEEP.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from ..models import Capture, Payment, Refund, Source
from ..state import CAPTURABLE, PAYMENT_PENDING, LedgerStatus, PaymentStatus
from . import outbox
from .due import tend
from .queue import apply_pending_notifications
from .results import claim_inquiry
from .schedule import seconds, wake

if TYPE_CHECKING:
    from ..client.api import AntomClient

logger = logging.getLogger("antom_django.background")


def unsettled(now: datetime) -> Q:
    """Payments with something not final: a pending result, a capture, refund or cancel with an unknown outcome,
    an automatic capture that is due, or an authorization at or past its expiry margin and not dealt with."""
    expiring = now + seconds("AUTH_EXPIRY_MARGIN")
    return (
        Q(status__in=PAYMENT_PENDING)
        | (Q(cancel_requested_at__isnull=False) & ~Q(status=PaymentStatus.CANCELLED))
        | Q(Exists(Capture.objects.filter(payment=OuterRef("pk"), status=LedgerStatus.PENDING)))
        | Q(Exists(Refund.objects.filter(payment=OuterRef("pk"), status=LedgerStatus.PENDING)))
        | Q(status__in=CAPTURABLE, capture_at__lte=now)
        | Q(status__in=CAPTURABLE, auth_expires_at__lte=expiring, expiry_handled_at__isnull=True)
        | Q(status__in=CAPTURABLE, auth_expires_at__lte=now)
    )


def candidates(now: datetime) -> QuerySet[Payment]:
    """Unsettled payments neither changed nor asked about for ``SWEEP_INTERVAL``, the longest quiet first."""
    quiet = now - seconds("SWEEP_INTERVAL")
    asked = Q(last_inquiry_at__isnull=True) | Q(last_inquiry_at__lte=quiet)
    return Payment.objects.filter(unsettled(now), asked, updated_at__lte=quiet).order_by("updated_at")


def sweep(*, limit: int = 500, client: AntomClient | None = None) -> Counter[str]:
    """One sweep; returns counts: ``notifications`` applied, events whose ``signals`` were sent, payments
    ``checked``, ``changed`` and ``errors``."""
    counts: Counter[str] = Counter()
    counts["notifications"] = apply_pending_notifications(limit=limit).total()
    now = timezone.now()
    counts["signals"] = outbox.resend(limit=limit, now=now)
    interval = seconds("SWEEP_INTERVAL").total_seconds()
    for payment in candidates(now)[:limit]:
        if not claim_inquiry(payment, interval / 2):  # another sweep has it
            continue
        before = _snapshot(payment)
        try:
            next_at = tend(payment, source=Source.SWEEP, client=client, now=now, sweeping=True)
        except Exception:
            logger.exception("antom sweep failed for payment %s", payment.pk)
            counts["errors"] += 1
            continue
        counts["checked"] += 1
        if next_at is not None:
            wake(payment, next_at)
        if _snapshot(payment) != before:
            counts["changed"] += 1
    if counts["checked"] or counts["notifications"] or counts["signals"]:
        logger.info("antom sweep: %s", dict(counts))
    return counts


def _snapshot(payment: Payment) -> tuple[object, ...]:
    """What a sweep can change about the payment, read in one query."""
    pending = LedgerStatus.PENDING
    return tuple(
        Payment.objects.filter(pk=payment.pk)
        .annotate(
            pending_captures=Count("captures", filter=Q(captures__status=pending), distinct=True),
            pending_refunds=Count("refunds", filter=Q(refunds__status=pending), distinct=True),
        )
        .values_list(
            "status",
            "captured_amount",
            "refunded_amount",
            "cancel_requested_at",
            "needs_review",
            "pending_captures",
            "pending_refunds",
        )
        .get()
    )
