"""The shop's pages: the shelf, buy-now, the checkout, the result page and the buyer's orders."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from antom_django.models import Payment

from .buyers import orders_for, remember
from .models import Order, Product

P = Payment.Status
RESULT_STATES = {
    P.INITIATED: "pending",
    P.PENDING: "pending",
    P.PROCESSING: "pending",
    P.AUTHORIZED: "authorized",
    P.PARTIALLY_CAPTURED: "paid",
    P.SUCCEEDED: "paid",
    P.REFUNDED: "paid",
    P.FAILED: "failed",
    P.CANCELLED: "cancelled",
}
"""The result page's state for the payment's status (antom_django's status endpoint says the same)."""


@require_GET
def products(request: HttpRequest) -> HttpResponse:
    return render(request, "shop/products.html", {"products": Product.objects.all()})


@require_http_methods(["GET", "POST"])
def orders(request: HttpRequest) -> HttpResponse:
    """GET: the buyer's orders. POST (buy now): a new order for one product, at the product's price."""
    if request.method == "GET":
        return render(request, "shop/orders.html", {"orders": orders_for(request).select_related("product")})
    # Only the product is read from the form: a price or amount posted beside it is ignored.
    product = Product.objects.filter(slug=request.POST.get("product", "")).first()
    if product is None:
        messages.error(request, "That product is not in the shop.")
        return redirect("products")
    user = request.user if request.user.is_authenticated else None
    order = Order.objects.create(product=product, currency=product.currency, total_minor=product.price_minor, user=user)
    if user is None:
        remember(request, order)
    return redirect("checkout", number=order.number)


@never_cache
@require_GET
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    order = get_object_or_404(orders_for(request).select_related("product"), number=number)
    return render(request, "shop/order.html", {"order": order, "payment": latest_payment(order)})


@never_cache  # the back button after paying shows the order as it is now, not a pay button
@require_GET
def checkout(request: HttpRequest, number: str) -> HttpResponse:
    order = get_object_or_404(orders_for(request).select_related("product"), number=number)
    return render(
        request,
        "shop/checkout.html",
        {
            "order": order,
            "sdk_url": settings.SHOP_SDK_URL,
            "sdk_environment": settings.SHOP_SDK_ENVIRONMENT,
        },
    )


@never_cache
@require_GET
def result(request: HttpRequest) -> HttpResponse:
    """``REDIRECT_URL``: the outcome of the order's latest payment (``?order=<number>``, the adapter's default)."""
    order = get_object_or_404(orders_for(request).select_related("product"), number=request.GET.get("order", ""))
    payment = latest_payment(order)
    if payment is None:  # nothing was paid yet: back to the checkout
        return redirect("checkout", number=order.number)
    return render(
        request,
        "shop/result.html",
        {"order": order, "payment": payment, "state": RESULT_STATES.get(payment.status, "pending")},
    )


def latest_payment(order: Order) -> Payment | None:
    return Payment.objects.filter(reference_order_id=order.number).order_by("-created_at").first()
