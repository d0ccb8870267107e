"""``Refund``: one refund request against captured money, a row of the refund ledger."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..client.money import Amount, format_amount
from .base import TimeStampedModel, check_constraint, new_refund_request_id
from .event import Source


class Refund(TimeStampedModel):
    """A refund of all or part of the captured money; its request id is saved before Antom is called."""

    class Status(models.TextChoices):
        PENDING = "PENDING", _("Pending")
        SUCCEEDED = "SUCCEEDED", _("Succeeded")
        FAILED = "FAILED", _("Failed")

    payment = models.ForeignKey(
        "antom_django.Payment", on_delete=models.PROTECT, related_name="refunds", help_text="The refunded payment."
    )
    refund_request_id = models.CharField(
        max_length=64,
        unique=True,
        default=new_refund_request_id,
        editable=False,
        help_text="refundRequestId: saved before calling Antom and reused for every retry.",
    )
    refund_id = models.CharField(
        max_length=64, blank=True, default="", db_index=True, help_text="Antom's refundId, once known."
    )
    amount = models.PositiveBigIntegerField(help_text="Amount to refund, in minor units of the payment currency.")
    currency = models.CharField(max_length=3, help_text="ISO 4217 currency code (the payment's).")
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True, help_text="Refund outcome."
    )
    reason = models.CharField(max_length=256, blank=True, default="", help_text="refundReason sent to Antom.")
    result_code = models.CharField(max_length=64, blank=True, default="", help_text="Antom's result code.")
    result_message = models.CharField(max_length=256, blank=True, default="", help_text="Antom's result message.")
    refunded_at = models.DateTimeField(null=True, blank=True, help_text="Antom's refundTime.")
    source = models.CharField(
        max_length=16, choices=Source.choices, default=Source.API, help_text="Where the refund was asked from."
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who asked for the refund, if a user did.",
    )
    gateway_data = models.JSONField(
        default=dict, blank=True, help_text="Raw latest answer from Antom about this refund."
    )

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["created_at", "pk"]
        constraints = [check_constraint(models.Q(amount__gt=0), "antom_refund_amount_positive")]

    def __str__(self) -> str:
        return f"{self.refund_request_id} {format_amount(self.amount, self.currency)} {self.status}"

    @property
    def money(self) -> Amount:
        return Amount(currency=self.currency, value=self.amount)
