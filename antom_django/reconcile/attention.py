"""What needs a person: payments flagged for review, notifications about payments we do not have, payments
stuck without an outcome, requests whose outcome is unknown (captures, refunds, cancels in flight), and signals a
dead process left unsent that no sweep has sent yet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from django.db.models import Model, QuerySet
from django.utils import timezone

from ..models import Capture, Notification, Payment, PaymentEvent, Refund
from ..services import outbox
from ..state import PAYMENT_PENDING

M = TypeVar("M", bound=Model)

STUCK_AFTER = timedelta(minutes=30)
"""A payment with no outcome and no change for this long is stuck (the default; the page can ask for another)."""
LIMIT = 50
"""Rows shown per list; the count says how many there are."""


@dataclass(frozen=True)
class Queue(Generic[M]):
    """The first :data:`LIMIT` rows of a list, and how many it has."""

    items: list[M]
    total: int

    @classmethod
    def of(cls, queryset: QuerySet[M], limit: int = LIMIT) -> Queue[M]:
        items = list(queryset[:limit])
        total = len(items) if len(items) < limit else queryset.count()
        return cls(items, total)


@dataclass(frozen=True)
class Attention:
    review: Queue[Payment]
    unknown_notifications: Queue[Notification]
    stuck: Queue[Payment]
    captures: Queue[Capture]
    refunds: Queue[Refund]
    cancels: Queue[Payment]
    signals: Queue[PaymentEvent]

    @property
    def total(self) -> int:
        return sum(q.total for q in self.queues().values())

    def queues(self) -> dict[str, Queue[Any]]:
        return {
            "review": self.review,
            "unknown_notifications": self.unknown_notifications,
            "stuck": self.stuck,
            "captures": self.captures,
            "refunds": self.refunds,
            "cancels": self.cancels,
            "signals": self.signals,
        }


def stuck_payments(stuck_after: timedelta = STUCK_AFTER, now: datetime | None = None) -> QuerySet[Payment]:
    """Payments with no outcome yet (INITIATED, PENDING, PROCESSING) unchanged for ``stuck_after``."""
    since = (now or timezone.now()) - stuck_after
    return Payment.objects.filter(status__in=PAYMENT_PENDING, updated_at__lt=since).order_by("updated_at", "pk")


def attention(
    *,
    stuck_after: timedelta = STUCK_AFTER,
    received: tuple[datetime, datetime] | None = None,
    limit: int = LIMIT,
) -> Attention:
    """Every list, oldest first (the longest waiting at the top); notifications newest first, only those
    ``received`` in the period when one is given (the notification table is the largest; its time is indexed)."""
    notifications = Notification.objects.filter(outcome=Notification.Outcome.UNKNOWN_PAYMENT)
    if received is not None:
        notifications = notifications.filter(created_at__gte=received[0], created_at__lt=received[1])
    return Attention(
        review=Queue.of(Payment.objects.filter(needs_review=True).order_by("updated_at", "pk"), limit),
        unknown_notifications=Queue.of(notifications.order_by("-created_at", "-pk"), limit),
        stuck=Queue.of(stuck_payments(stuck_after), limit),
        captures=Queue.of(
            Capture.objects.filter(status=Capture.Status.PENDING)
            .select_related("payment")
            .order_by("created_at", "pk"),
            limit,
        ),
        refunds=Queue.of(
            Refund.objects.filter(status=Refund.Status.PENDING).select_related("payment").order_by("created_at", "pk"),
            limit,
        ),
        # The mark stays on a cancelled payment (when the cancel was sent); in flight is until Antom answers.
        cancels=Queue.of(
            Payment.objects.filter(cancel_requested_at__isnull=False)
            .exclude(status=Payment.Status.CANCELLED)
            .order_by("cancel_requested_at", "pk"),
            limit,
        ),
        # Sent by the sweep SIGNAL_RESEND_AFTER after their process died: listed only when no sweep did.
        signals=Queue.of(outbox.overdue(), limit),
    )
