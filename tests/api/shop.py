"""A tiny shop for the API tests: orders in a dict, resolved by the adapter the test settings name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model

from antom_django.adapter import AntomAdapter, OrderInfo, OrderNeedsLogin, OrderNotFound, OrderNotPayable
from antom_django.client.money import Amount


@dataclass
class ShopOrder:
    reference: str
    amount: Amount
    owner_id: int | None = None
    closed: bool = False
    redirect_url: str = ""
    scoped: bool = False
    """Looked up as most shops do: among the caller's own orders only (see :meth:`ShopAdapter.resolve_order`)."""


ORDERS: dict[str, ShopOrder] = {}


def add_order(
    reference: str, value: int, currency: str = "SGD", *, owner: Any = None, scoped: bool = False
) -> ShopOrder:
    order = ShopOrder(reference, Amount(currency, value), owner.pk if owner is not None else None, scoped=scoped)
    ORDERS[reference] = order
    return order


class ShopAdapter(AntomAdapter):
    """Resolves references from :data:`ORDERS`; a closed order cannot be paid.

    A ``scoped`` order of a user is found only for that user, as in a shop that filters its orders by
    ``request.user``: an anonymous caller is told to log in (:class:`OrderNeedsLogin`), another user
    finds nothing.
    """

    def resolve_order(self, request: Any, reference: str) -> OrderInfo:
        order = ORDERS.get(reference)
        if order is None:
            raise OrderNotFound(f"No order {reference[:64]!r}.")
        if order.scoped and order.owner_id is not None:
            user = getattr(request, "user", None)
            if user is None or not user.is_authenticated:
                raise OrderNeedsLogin("Log in to pay for this order.")
            if user.pk != order.owner_id:
                raise OrderNotFound(f"No order {reference[:64]!r}.")
        if order.closed:
            raise OrderNotPayable("This order is closed.")
        user = get_user_model().objects.get(pk=order.owner_id) if order.owner_id is not None else None
        return OrderInfo(
            reference_order_id=order.reference,
            amount=order.amount,
            description=f"Order {order.reference}",
            user=user,
            goods=[{"referenceGoodsId": "mug", "goodsName": "Mug", "goodsQuantity": "1"}],
        )

    def get_redirect_url(self, request: Any, info: OrderInfo) -> str:
        return ORDERS[info.reference_order_id].redirect_url or super().get_redirect_url(request, info)
