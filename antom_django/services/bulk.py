"""Bulk capture: authorizations handed to the background work's automatic capture together, and its progress.

:func:`schedule_captures` only sets each payment's ``capture_at`` to now and wakes it; the due processor
captures it through the same path as an automatic capture (which sends nothing for a payment already captured
or with a capture in flight), so a bulk capture racing a capture by hand never captures twice.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from ..models import BulkCapture, Capture, Payment, PaymentEvent, Source
from .context import Ctx, atomic, changing, lock, record, user_or_none
from .schedule import earliest

P = Payment.Status
C = Capture.Status

MAX_PAYMENTS = 1000
"""The most payments one bulk capture takes (each is one short transaction now and one capture later)."""


def not_capturable(payment: Payment, now: datetime) -> str:
    """Why the background work would not capture this payment whole (``""``: it would)."""
    if payment.status != P.AUTHORIZED:
        return f"it is {payment.get_status_display().lower()}"
    if not payment.is_authorization:
        return "Antom captured it by itself"
    if not payment.payment_id:
        return "Antom has not given it a paymentId yet"
    if payment.cancel_requested_at is not None:
        return "a cancel is in flight"
    if payment.auth_expires_at is not None and payment.auth_expires_at <= now:
        return "its authorization expired"
    return ""


def schedule_captures(
    payments: Iterable[Payment | int], *, user: Any = None, source: str = Source.ADMIN, now: datetime | None = None
) -> BulkCapture:
    """Schedule the capture of each payment in full, now, by the background work; returns the job.

    Each payment is checked and scheduled under its own row lock (one short transaction each, so the
    notifications of the others are not held up); those that cannot be captured whole are left out
    (``selected`` counts them all).
    """
    ids = sorted({p.pk if isinstance(p, Payment) else int(p) for p in payments})
    if len(ids) > MAX_PAYMENTS:
        raise ValueError(f"a bulk capture takes at most {MAX_PAYMENTS} payments, not {len(ids)}")
    now = now or timezone.now()
    job = BulkCapture.objects.create(selected=len(ids), requested_by=user_or_none(user))
    ctx = Ctx(source=source, user=user)
    for pk in ids:
        with atomic(), changing(lock(pk), ctx) as change:
            locked = change.payment
            if not_capturable(locked, now) or locked.captures.filter(status__in=[C.PENDING, C.SUCCEEDED]).exists():
                continue
            locked.capture_at = earliest(locked.capture_at, now)
            locked.next_check_at = earliest(locked.next_check_at, now)
            change.save("capture_at", "next_check_at")
            record(locked, PaymentEvent.Kind.REQUEST, ctx, operation="capture", scheduled=True, bulk_capture=job.pk)
            job.payments.add(locked)
    return job


class Stage(enum.Enum):
    """Where one payment of a bulk capture is."""

    WAITING = "waiting"
    IN_FLIGHT = "in flight"
    CAPTURED = "captured"
    FAILED = "failed"
    NOT_SENT = "not sent"


@dataclass(frozen=True)
class Progress:
    """A bulk capture's payments by stage, computed from their capture rows (two queries)."""

    job: BulkCapture
    stages: dict[int, Stage]
    payments: list[Payment]

    def count(self, stage: Stage) -> int:
        return sum(1 for s in self.stages.values() if s is stage)

    @property
    def done(self) -> bool:
        """Nothing is waiting for the background work or for Antom's answer any more."""
        return not any(s in (Stage.WAITING, Stage.IN_FLIGHT) for s in self.stages.values())


def progress(job: BulkCapture) -> Progress:
    """Each payment's stage: a capture asked for since the job (settled or not) decides, else its schedule."""
    payments = list(job.payments.order_by("pk"))
    since = Capture.objects.filter(payment__bulk_captures=job, created_at__gte=job.created_at)
    seen: dict[int, set[str]] = {}
    for payment_id, status in since.values_list("payment_id", "status"):
        seen.setdefault(payment_id, set()).add(status)
    stages = {p.pk: _stage(p, seen.get(p.pk, set())) for p in payments}
    return Progress(job=job, stages=stages, payments=payments)


def _stage(payment: Payment, statuses: set[str]) -> Stage:
    if C.SUCCEEDED in statuses:
        return Stage.CAPTURED
    if C.PENDING in statuses:
        return Stage.IN_FLIGHT
    if C.FAILED in statuses:
        return Stage.FAILED
    return Stage.WAITING if payment.capture_at is not None else Stage.NOT_SENT
