"""``LedgerRow``: what a row of the capture ledger and a row of the refund ledger have in common."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from django.conf import settings
from django.db import models

from ..client.money import Amount
from ..state import LedgerStatus
from .base import TimeStampedModel, check_constraint
from .event import Source


class LedgerRow(TimeStampedModel):
    """An amount of a payment asked of Antom (captured or refunded), its outcome and who asked."""

    Status = LedgerStatus

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

    noun: ClassVar[str]
    """``capture`` / ``refund``: how messages name it (Antom's ``<noun>Id``, the signals' keyword)."""
    event_kind: ClassVar[str]
    """The :class:`~antom_django.models.PaymentEvent` kind of its status changes."""

    @property
    def money(self) -> Amount:
        return Amount(currency=self.currency, value=self.amount)

    # What the capture and the refund ledger name differently, under one name each: the service layer
    # treats both through these, never through the columns' own names.

    @property
    def request_id(self) -> str:
        """Our ``<noun>RequestId``, fixed before Antom is first asked."""
        raise NotImplementedError

    @request_id.setter
    def request_id(self, value: str) -> None:
        raise NotImplementedError

    @property
    def antom_id(self) -> str:
        """Antom's ``<noun>Id``, once known."""
        raise NotImplementedError

    @antom_id.setter
    def antom_id(self, value: str) -> None:
        raise NotImplementedError

    @property
    def settled_at(self) -> datetime | None:
        """Antom's ``<noun>Time``."""
        raise NotImplementedError

    @settled_at.setter
    def settled_at(self, value: datetime | None) -> None:
        raise NotImplementedError

    @classmethod
    def with_request_id(cls, value: str) -> models.Q:
        """The filter for the row with this request id."""
        raise NotImplementedError

    @classmethod
    def with_antom_id(cls, value: str) -> models.Q:
        """The filter for the rows with this Antom id."""
        raise NotImplementedError
