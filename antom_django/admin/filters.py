"""The payment list's own filters: authorizations expiring soon, and payments stuck waiting on someone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.db import connections, router
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
    """Payments waiting since ``before`` or earlier. Each branch is served by an index (status + created_at,
    the partial cancel index, the primary key): the few payments with a capture or refund in flight are read
    first (the ledgers' status index), so the database can combine the indexes instead of scanning payments."""
    in_flight = [
        *Capture.objects.filter(status=Capture.Status.PENDING, created_at__lte=before).values_list("payment_id"),
        *Refund.objects.filter(status=Refund.Status.PENDING, created_at__lte=before).values_list("payment_id"),
    ]
    return (
        Q(status__in=sorted(PAYMENT_PENDING), created_at__lte=before)
        # The mark stays on a payment once it is cancelled: only the others still wait on Antom.
        | (Q(cancel_requested_at__lte=before) & ~Q(status=Payment.Status.CANCELLED))
        | Q(pk__in=sorted({pk for (pk,) in in_flight}))
    )


class CurrencyFilter(admin.SimpleListFilter):
    """The currencies payments were made in, found by one index probe per currency (not a DISTINCT over
    every payment)."""

    title = "currency"
    parameter_name = "currency"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(code, code) for code in currencies()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Payment]) -> QuerySet[Payment] | None:
        value = self.value()
        return queryset.filter(currency=value) if value else None


def currencies() -> list[str]:
    """Every currency in the payments table, in order: a loose index scan over antom_payment_currency_idx
    (each step is the smallest currency after the previous one), where SELECT DISTINCT reads every row."""
    connection = connections[router.db_for_read(Payment)]
    table = connection.ops.quote_name(Payment._meta.db_table)
    column = connection.ops.quote_name("currency")
    sql = (
        f"WITH RECURSIVE c(code) AS (SELECT MIN({column}) FROM {table} "
        f"UNION ALL SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > c.code) FROM c WHERE c.code IS NOT NULL) "
        "SELECT code FROM c WHERE code IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [code for (code,) in cursor.fetchall()]
