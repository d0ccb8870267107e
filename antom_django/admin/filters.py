"""The payment list's own filters: authorizations expiring soon, and payments stuck waiting on someone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from ..models import Capture, Payment, Refund
from ..state import CAPTURABLE, PAYMENT_PENDING


class ExpiringFilter(admin.SimpleListFilter):
    """Authorizations still open (capturable) whose ``auth_expires_at`` is near, or past."""

    title = "authorization expiry"
    parameter_name = "expiring"
    WINDOWS = {"1d": timedelta(days=1), "3d": timedelta(days=3), "7d": timedelta(days=7)}

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("1d", "Expiring within 1 day"), ("3d", "Within 3 days"), ("7d", "Within 7 days"), ("past", "Expired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Payment]) -> QuerySet[Payment] | None:
        value = self.value()
        if value is None:
            return None
        # antom_payment_expiry_idx: partial on the capturable statuses, ordered by auth_expires_at.
        open_ = queryset.filter(status__in=CAPTURABLE, auth_expires_at__isnull=False)
        now = timezone.now()
        if value == "past":
            return open_.filter(auth_expires_at__lte=now)
        window = self.WINDOWS.get(value)
        return open_.filter(auth_expires_at__gt=now, auth_expires_at__lte=now + window) if window else None


class StuckFilter(admin.SimpleListFilter):
    """Waiting longer than a chosen time: a pending payment, or a capture, refund or cancel in flight."""

    title = "stuck longer than"
    parameter_name = "stuck"
    AGES = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "1d": timedelta(days=1)}

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("15m", "15 minutes"), ("1h", "1 hour"), ("1d", "1 day")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Payment]) -> QuerySet[Payment] | None:
        age = self.AGES.get(self.value() or "")
        if age is None:
            return None
        return queryset.filter(stuck_since(timezone.now() - age))


def stuck_since(before: Any) -> Q:
    """Payments waiting since ``before`` or earlier: each branch is served by an index
    (status + created_at, the ledgers' status, the partial cancel index)."""
    in_flight_captures = Capture.objects.filter(status=Capture.Status.PENDING, created_at__lte=before)
    in_flight_refunds = Refund.objects.filter(status=Refund.Status.PENDING, created_at__lte=before)
    return (
        Q(status__in=sorted(PAYMENT_PENDING), created_at__lte=before)
        # The mark stays on a payment once it is cancelled: only the others still wait on Antom.
        | (Q(cancel_requested_at__lte=before) & ~Q(status=Payment.Status.CANCELLED))
        | Q(pk__in=in_flight_captures.values("payment_id"))
        | Q(pk__in=in_flight_refunds.values("payment_id"))
    )
