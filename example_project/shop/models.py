"""Products and orders; an order's status moves only with antom_django's signals (see receivers.py)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from antom_django.client import Amount


def display_amount(minor: int, currency: str) -> str:
    """``4200, "SGD"`` → ``"SGD 42.00"``; ``3800, "JPY"`` → ``"JPY 3800"`` (the currency's own decimals)."""
    value, code = str(Amount(currency, minor)).split()
    return f"{code} {value}"


def new_order_number() -> str:
    return f"SO-{secrets.token_hex(4).upper()}"


class Product(models.Model):
    """Something to buy, priced in integer minor units of its own currency."""

    slug = models.SlugField(unique=True, help_text="The product's id in the buy-now form.")
    name = models.CharField(max_length=100, help_text="Shown on the shelf and sent to Antom as the goods name.")
    description = models.CharField(max_length=300, blank=True, default="", help_text="One line for the shelf.")
    currency = models.CharField(max_length=3, default="SGD", help_text="ISO 4217 code of the price.")
    price_minor = models.PositiveIntegerField(help_text="Price in minor units: 4200 is SGD 42.00, 3800 is JPY 3800.")
    colour = models.CharField(max_length=7, default="#c8d6e5", help_text="Background of the product's picture.")
    position = models.PositiveSmallIntegerField(default=0, help_text="Order on the shelf.")

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def price(self) -> str:
        return display_amount(self.price_minor, self.currency)


class Order(models.Model):
    """One buy-now purchase. The amount is copied from the product when the order is made, never from a form."""

    class Status(models.TextChoices):
        AWAITING_PAYMENT = "awaiting_payment", "Awaiting payment"
        AWAITING_CAPTURE = "awaiting_capture", "Card authorized, awaiting capture"
        PAID = "paid", "Paid"
        SHIPPED = "shipped", "Shipped"
        FAILED = "failed", "Payment failed"
        CANCELLED = "cancelled", "Cancelled"
        REFUNDED = "refunded", "Refunded"

    number = models.CharField(
        max_length=32, unique=True, default=new_order_number, editable=False, help_text="Sent as referenceOrderId."
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, help_text="What was bought.")
    quantity = models.PositiveSmallIntegerField(default=1, help_text="How many.")
    currency = models.CharField(max_length=3, help_text="ISO 4217 code, the product's.")
    total_minor = models.PositiveIntegerField(help_text="What the buyer pays, in minor units of the currency.")
    status = models.CharField(
        max_length=20,
        choices=Status.choices,
        default=Status.AWAITING_PAYMENT,
        help_text="Moved forward only by antom_django's signals (shop/receivers.py).",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="The buyer when logged in; guests' orders are remembered in their session.",
    )
    created_at = models.DateTimeField(auto_now_add=True, help_text="When the order was made.")
    updated_at = models.DateTimeField(auto_now=True, help_text="When the order last changed.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.number

    @property
    def total(self) -> str:
        return display_amount(self.total_minor, self.currency)

    @property
    def is_payable(self) -> bool:
        """Whether the checkout offers to pay (a failed payment may be retried)."""
        return self.status in {self.Status.AWAITING_PAYMENT, self.Status.FAILED}
