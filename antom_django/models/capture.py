"""``Capture``: one capture request against an authorization, a row of the capture ledger."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _

from ..client.money import format_amount
from .base import new_capture_request_id
from .event import PaymentEvent
from .ledger import LedgerRow


class Capture(LedgerRow):
    """A capture of all or part of an authorization; its request id is saved before Antom is called."""

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
    origin = models.CharField(
        max_length=16, choices=Origin.choices, default=Origin.MERCHANT, help_text="Who started the capture."
    )
    is_last_capture = models.BooleanField(
        null=True, blank=True, help_text="isLastCapture as sent to Antom (empty: not sent)."
    )
    captured_at = models.DateTimeField(null=True, blank=True, help_text="Antom's captureTime.")

    class Meta(LedgerRow.Meta):
        verbose_name = _("capture")
        verbose_name_plural = _("captures")

    noun = "capture"
    event_kind = PaymentEvent.Kind.CAPTURE

    @property
    def request_id(self) -> str:
        return self.capture_request_id

    @request_id.setter
    def request_id(self, value: str) -> None:
        self.capture_request_id = value

    @property
    def antom_id(self) -> str:
        return self.capture_id

    @antom_id.setter
    def antom_id(self, value: str) -> None:
        self.capture_id = value

    @property
    def settled_at(self) -> datetime | None:
        return self.captured_at

    @settled_at.setter
    def settled_at(self, value: datetime | None) -> None:
        self.captured_at = value

    @classmethod
    def with_request_id(cls, value: str) -> models.Q:
        return models.Q(capture_request_id=value)

    @classmethod
    def with_antom_id(cls, value: str) -> models.Q:
        return models.Q(capture_id=value)

    def __str__(self) -> str:
        return f"{self.capture_request_id} {format_amount(self.amount, self.currency)} {self.status}"
