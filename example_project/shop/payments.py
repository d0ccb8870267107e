"""The shop's antom_django adapter: order references to amounts, and who may pay and see a payment."""

from __future__ import annotations

from typing import Any

from antom_django.adapter import AntomAdapter, OrderInfo, OrderNotFound, OrderNotPayable
from antom_django.client import Amount

from .buyers import orders_for, owns
from .models import Order


class ShopAdapter(AntomAdapter):
    """Resolves the caller's own orders only; the amount is always the order's, never the browser's."""

    def resolve_order(self, request: Any, reference: str) -> OrderInfo:
        # Scoped to the caller, so one buyer cannot probe another's order numbers: not theirs is "not found".
        order = orders_for(request).filter(number=reference).select_related("product", "user").first()
        if order is None:
            raise OrderNotFound("No such order.")
        if order.status in {Order.Status.CANCELLED, Order.Status.REFUNDED}:
            raise OrderNotPayable(f"Order {order.number} is {order.get_status_display().lower()}.")
        # A paid order is left to antom_django, which answers 409 order_already_paid with its payment.
        product = order.product
        return OrderInfo(
            reference_order_id=order.number,
            amount=Amount(order.currency, order.total_minor),
            description=f"{order.quantity} × {product.name}",
            order=order,
            user=order.user,
            goods=[
                {
                    "referenceGoodsId": product.slug,
                    "goodsName": product.name,
                    "goodsQuantity": str(order.quantity),
                    "goodsUnitAmount": Amount(order.currency, product.price_minor).to_wire(),
                }
            ],
        )

    def can_pay(self, request: Any, info: OrderInfo) -> bool:
        return isinstance(info.order, Order) and owns(request, info.order)

    def can_view_payment(self, request: Any, payment: Any) -> bool:
        if super().can_view_payment(request, payment):
            return True
        order = Order.objects.filter(number=payment.reference_order_id).first()
        return order is not None and owns(request, order)
