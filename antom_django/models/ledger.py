"""``LedgerRow``: what a row of the capture ledger and a row of the refund ledger have in common."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..client.money import Amount
from .base import TimeStampedModel, check_constraint
from .event import Source


class LedgerRow(TimeStampedModel):
    """An amount of a payment asked of Antom (captured or refunded), its outcome and who asked."""

    class Status(models.TextChoices):
        PENDING = "PENDING", _("Pending")
        SUCCEEDED = "SUCCEEDED", _("Succeeded")
        FAILED = "FAILED", _("Failed")

    amount = models.PositiveBigIntegerField(help_text="Amount asked for, in minor units of the payment currency.")
    currency = models.CharField(max_length=3, help_text="ISO 4217 currency code (the payment's).")
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True, help_text="Outcome at Antom."
    )
    result_code = models.CharField(max_length=64, blank=True, default="", help_text="Antom's result code.")
    result_message = models.CharField(max_length=256, blank=True, default="", help_text="Antom's result message.")
    source = models.CharField(
        max_length=16, choices=Source.choices, default=Source.API, help_text="Where the request was made from."
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who asked for it, if a user did.",
    )
    gateway_data = models.JSONField(default=dict, blank=True, help_text="Raw latest answer from Antom about it.")

    class Meta:
        abstract = True
        ordering = ["created_at", "pk"]
        constraints = [check_constraint(models.Q(amount__gt=0), "antom_%(class)s_amount_positive")]

    @property
    def money(self) -> Amount:
        return Amount(currency=self.currency, value=self.amount)
