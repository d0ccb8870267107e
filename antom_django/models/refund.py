"""``Refund``: one refund request against captured money, a row of the refund ledger."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _

from ..client.money import format_amount
from .base import new_refund_request_id
from .event import PaymentEvent
from .ledger import LedgerRow


class Refund(LedgerRow):
    """A refund of all or part of the captured money; its request id is saved before Antom is called."""

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
    reason = models.CharField(max_length=256, blank=True, default="", help_text="refundReason sent to Antom.")
    refunded_at = models.DateTimeField(null=True, blank=True, help_text="Antom's refundTime.")

    class Meta(LedgerRow.Meta):
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")

    noun = "refund"
    event_kind = PaymentEvent.Kind.REFUND

    @property
    def request_id(self) -> str:
        return self.refund_request_id

    @request_id.setter
    def request_id(self, value: str) -> None:
        self.refund_request_id = value

    @property
    def antom_id(self) -> str:
        return self.refund_id

    @antom_id.setter
    def antom_id(self, value: str) -> None:
        self.refund_id = value

    @property
    def settled_at(self) -> datetime | None:
        return self.refunded_at

    @settled_at.setter
    def settled_at(self, value: datetime | None) -> None:
        self.refunded_at = value

    @classmethod
    def with_request_id(cls, value: str) -> models.Q:
        return models.Q(refund_request_id=value)

    @classmethod
    def with_antom_id(cls, value: str) -> models.Q:
        return models.Q(refund_id=value)

    def __str__(self) -> str:
        return f"{self.refund_request_id} {format_amount(self.amount, self.currency)} {self.status}"
