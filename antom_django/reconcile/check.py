"""Ask Antom about payments (inquiryPayment) and list the differences; with ``apply``, sync them through the
service layer and list what is left."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from .. import services
from ..client.errors import AntomFailed, AntomOutcomeUnknown
from ..conf import antom_settings
from ..models import Payment, Source
from ..services.context import payment_ref
from ..services.results import NO_SUCH_PAYMENT
from .compare import Difference, Kind, compare_absent, compare_payment

if TYPE_CHECKING:
    from ..client.api import AntomClient

Progress = Callable[[int, int], None]
"""Called with (done, total) after each payment."""


def day_range(since: date, until: date) -> tuple[datetime, datetime]:
    """``[since 00:00, the day after until 00:00)`` in UTC: both days included."""
    return datetime.combine(since, time.min, tzinfo=UTC), datetime.combine(
        until + timedelta(days=1), time.min, tzinfo=UTC
    )


def payments_created(since: date, until: date) -> QuerySet[Payment]:
    """Payments created on the days from ``since`` to ``until`` (UTC, both included), oldest first, with their
    captures and refunds."""
    start, end = day_range(since, until)
    return (
        Payment.objects.filter(created_at__gte=start, created_at__lt=end)
        .order_by("created_at", "pk")
        .prefetch_related("captures", "refunds")
    )


@dataclass
class CheckRun:
    """What a check found: payments asked about, the differences left, payments synced."""

    checked: int = 0
    differences: list[Difference] = field(default_factory=list)
    synced: int = 0

    def counts(self) -> Counter[Kind]:
        return Counter(d.kind for d in self.differences)


def check_payment(payment: Payment, *, client: AntomClient, apply: bool = False) -> tuple[list[Difference], bool]:
    """The differences between ``payment`` and Antom's inquiry about it, and whether it was synced.

    With ``apply``, a payment that differs is synced (:func:`~antom_django.services.sync_payment`, source
    SWEEP): what Antom is ahead on is applied and what contradicts us is flagged for review; the differences
    returned are those that remain against the same answer.
    """
    try:
        answer = client.inquiry_payment(**payment_ref(payment))
    except AntomFailed as exc:
        if exc.result_code in NO_SUCH_PAYMENT:
            return compare_absent(payment), False
        return [_unreachable(payment, f"refused: {exc.result_code or 'F'}")], False
    except AntomOutcomeUnknown as exc:
        return [_unreachable(payment, f"unknown: {type(exc).__name__}")], False
    found = compare_payment(payment, answer)
    if not (apply and found):
        return found, False
    try:
        services.sync_payment(payment, source=Source.SWEEP, client=client)
    except AntomOutcomeUnknown:
        return found, False
    fresh = Payment.objects.prefetch_related("captures", "refunds").get(pk=payment.pk)
    return compare_payment(fresh, answer), True


def _unreachable(payment: Payment, note: str) -> Difference:
    return Difference(Kind.UNREACHABLE, payment.pk, payment.payment_request_id, "payment", payment.status, note)


def check_payments(
    payments: Iterable[Payment],
    *,
    total: int,
    client: AntomClient | None = None,
    apply: bool = False,
    progress: Progress | None = None,
) -> CheckRun:
    """:func:`check_payment` for each payment, one inquiry at a time."""
    antom = client or antom_settings.get_client()
    run = CheckRun()
    for payment in payments:
        found, synced = check_payment(payment, client=antom, apply=apply)
        run.checked += 1
        run.synced += synced
        run.differences.extend(found)
        if progress is not None:
            progress(run.checked, total)
    return run
