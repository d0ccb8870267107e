"""The shop's admin: products, and orders with links to their payments in antom_django's admin."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from antom_django.models import Payment

from .models import Order, Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "price", "position")
    list_editable = ("position",)
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("number", "product", "total", "status", "user", "created_at", "payment_links")
    list_filter = ("status", "currency")
    search_fields = ("number",)
    date_hierarchy = "created_at"
    list_select_related = ("product", "user")
    # The status is antom_django's to move (signals); staff capture, cancel and refund on the payment's page.
    readonly_fields = ("number", "product", "quantity", "currency", "total", "status", "user", "payment_links")
    fields = readonly_fields

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    @admin.display(description="Total")
    def total(self, order: Order) -> str:
        return order.total

    @admin.display(description="Payments")
    def payment_links(self, order: Order) -> str:
        payments = Payment.objects.filter(reference_order_id=order.number).order_by("created_at")
        if not payments:
            return "—"
        return format_html_join(
            mark_safe("<br>"),
            '<a href="{}">{}</a> ({})',
            (
                (
                    reverse("admin:antom_django_payment_change", args=[p.pk]),
                    p.payment_request_id,
                    p.get_status_display(),
                )
                for p in payments
            ),
        )
