"""Whose orders: a logged-in buyer's by user, a guest's by the browser session that made them."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from .models import Order

SESSION_KEY = "shop_orders"
SESSION_KEEP = 50


def remember(request: Any, order: Order) -> None:
    """Let this browser session find the guest order it just made."""
    numbers = [n for n in request.session.get(SESSION_KEY, []) if n != order.number]
    request.session[SESSION_KEY] = [*numbers, order.number][-SESSION_KEEP:]


def orders_for(request: Any) -> QuerySet[Order]:
    """The caller's orders: their user's, and the guest orders their session made."""
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)
    mine = Q(user__isnull=True, number__in=list(session.get(SESSION_KEY, []))) if session is not None else Q(pk=None)
    if user is not None and user.is_authenticated:
        mine |= Q(user=user)
    return Order.objects.filter(mine)


def owns(request: Any, order: Order) -> bool:
    """Whether ``order`` is the caller's (the same rule as :func:`orders_for`)."""
    user = getattr(request, "user", None)
    if order.user_id is not None:
        return bool(user is not None and user.is_authenticated and user.pk == order.user_id)
    session = getattr(request, "session", None)
    return session is not None and order.number in session.get(SESSION_KEY, [])
