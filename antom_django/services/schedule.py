"""The due-time column ``Payment.next_check_at``: waking a payment, and claiming due ones for a lease.

See :mod:`antom_django.services.due` for what is done with a claimed payment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from ..conf import antom_settings
from ..models import Payment
from .context import atomic


def seconds(name: str) -> timedelta:
    """A duration setting (``POLL_INTERVAL``, ``SWEEP_INTERVAL``, ...) as a timedelta."""
    return timedelta(seconds=float(getattr(antom_settings, name)))


def lease() -> timedelta:
    """How long a claim lasts: longer than the slowest tend (every Antom call timing out on every retry)."""
    s = antom_settings
    per_call = (float(s.CONNECT_TIMEOUT) + float(s.READ_TIMEOUT)) * (int(s.MAX_RETRIES) + 1)
    return timedelta(seconds=max(60.0, 3 * per_call))


def wake(payment: Payment | int, when: datetime | None = None) -> bool:
    """Make the payment due at ``when`` (default now) unless it is due earlier already; True if it moved."""
    pk = payment.pk if isinstance(payment, Payment) else payment
    when = when or timezone.now()
    later = Q(next_check_at__isnull=True) | Q(next_check_at__gt=when)
    return bool(Payment.objects.filter(later, pk=pk).update(next_check_at=when))


@dataclass(frozen=True)
class Claim:
    """Payments taken by one worker until ``until`` (their ``next_check_at`` while it holds them), as read when
    taken: whoever changes one locks and re-reads it first."""

    payments: list[Payment]
    until: datetime

    @property
    def ids(self) -> list[int]:
        return [payment.pk for payment in self.payments]


BULKY = ("session_data", "session_request", "session_response", "gateway_data")
"""Payment columns the due work never reads from a claimed row."""


def claim(limit: int = 100, *, now: datetime | None = None) -> Claim:
    """Take up to ``limit`` due payments, the most overdue first, for one lease."""
    now = now or timezone.now()
    until = now + lease()
    with atomic():
        due = Payment.objects.select_for_update(skip_locked=True).filter(next_check_at__lte=now)
        # Not the big, rarely needed columns: whatever changes a payment locks and re-reads it whole.
        payments = list(due.defer(*BULKY).order_by("next_check_at")[:limit])
        if payments:
            Payment.objects.filter(pk__in=[p.pk for p in payments]).update(next_check_at=until)
    for payment in payments:
        payment.next_check_at = until
    return Claim(payments, until)


def release(pk: int, claimed_until: datetime, next_at: datetime | None) -> None:
    """End a claim: the payment is next due at ``next_at`` unless something woke it meanwhile."""
    Payment.objects.filter(pk=pk, next_check_at=claimed_until).update(next_check_at=next_at)


def earliest(*times: datetime | None) -> datetime | None:
    """The soonest of the times given (``None`` ones ignored)."""
    present = [t for t in times if t is not None]
    return min(present) if present else None
