"""Captures and refunds on the payment page: read-only rows of their ledgers."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from ..models import Capture, Refund
from .display import money

LEDGER_FIELDS = ("request_id_", "amount_", "status", "result_code", "source", "requested_by", "created_at")


class LedgerInline(admin.TabularInline):  # type: ignore[type-arg]
    """A ledger shown, never edited: rows are created by the service layer and settled by Antom."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Whoever may see the payment sees its ledgers (no separate capture/refund permissions to hand out).
        return request.user.has_perm("antom_django.view_payment")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("requested_by")

    @admin.display(description="amount")
    def amount_(self, row: Capture | Refund) -> str:
        return money(row.amount, row.currency)

    @admin.display(description="request id")
    def request_id_(self, row: Capture | Refund) -> str:
        return row.request_id


class CaptureInline(LedgerInline):
    model = Capture
    fields = readonly_fields = (*LEDGER_FIELDS[:3], "origin", "is_last_capture", *LEDGER_FIELDS[3:], "captured_at")


class RefundInline(LedgerInline):
    model = Refund
    fields = readonly_fields = (*LEDGER_FIELDS[:3], "reason", *LEDGER_FIELDS[3:], "refunded_at")
