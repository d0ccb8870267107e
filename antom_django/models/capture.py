"""``Capture``: one capture request against an authorization, a row of the capture ledger."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..client.money import Amount, format_amount
from .base import TimeStampedModel, check_constraint, new_capture_request_id
from .event import Source


class Capture(TimeStampedModel):
    """A capture of all or part of an authorization; its request id is saved before Antom is called."""

    class Status(models.TextChoices):
        PENDING = "PENDING", _("Pending")
        SUCCEEDED = "SUCCEEDED", _("Succeeded")
        FAILED = "FAILED", _("Failed")

    class Origin(models.TextChoices):
        MERCHANT = "MERCHANT", _("Requested by us")
        AUTOMATIC = "AUTOMATIC", _("Captured by Antom automatically")

    payment = models.ForeignKey(
        "antom_django.Payment", on_delete=models.PROTECT, related_name="captures", help_text="The captured payment."
    )
    capture_request_id = models.CharField(
        max_length=64,
        unique=True,
        default=new_capture_request_id,
        editable=False,
        help_text="captureRequestId: saved before calling Antom and reused for every retry.",
    )
    capture_id = models.CharField(
        max_length=64, blank=True, default="", db_index=True, help_text="Antom's captureId, once known."
    )
    amount = models.PositiveBigIntegerField(help_text="Amount to capture, in minor units of the payment currency.")
    currency = models.CharField(max_length=3, help_text="ISO 4217 currency code (the payment's).")
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True, help_text="Capture outcome."
    )
    origin = models.CharField(
        max_length=16, choices=Origin.choices, default=Origin.MERCHANT, help_text="Who started the capture."
    )
    is_last_capture = models.BooleanField(
        null=True, blank=True, help_text="isLastCapture as sent to Antom (empty: not sent)."
    )
    result_code = models.CharField(max_length=64, blank=True, default="", help_text="Antom's result code.")
    result_message = models.CharField(max_length=256, blank=True, default="", help_text="Antom's result message.")
    captured_at = models.DateTimeField(null=True, blank=True, help_text="Antom's captureTime.")
    source = models.CharField(
        max_length=16, choices=Source.choices, default=Source.API, help_text="Where the capture was asked from."
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who asked for the capture, if a user did.",
    )
    gateway_data = models.JSONField(
        default=dict, blank=True, help_text="Raw latest answer from Antom about this capture."
    )

    class Meta:
        verbose_name = _("capture")
        verbose_name_plural = _("captures")
        ordering = ["created_at", "pk"]
        constraints = [check_constraint(models.Q(amount__gt=0), "antom_capture_amount_positive")]

    def __str__(self) -> str:
        return f"{self.capture_request_id} {format_amount(self.amount, self.currency)} {self.status}"

    @property
    def money(self) -> Amount:
        return Amount(currency=self.currency, value=self.amount)
