"""The actions' confirmation forms: amounts typed in major units, reasons, notes, and the page's version."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

from django import forms
from django.db.models import Sum
from django.utils.dateparse import parse_datetime

from ..client.money import MoneyError, currency_exponent, to_minor_units
from ..models import Capture, Payment, Refund
from .display import money

IN_FLIGHT_OR_DONE = ("PENDING", "SUCCEEDED")


class ActionForm(forms.Form):
    """Every confirmation carries the payment's ``updated_at`` as shown: a second submit of the same page, or a
    colleague's action in between, makes it stale (see :func:`~.actions.claim`)."""

    version = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, payment: Payment, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {})["version"] = payment.updated_at.isoformat()
        super().__init__(*args, **kwargs)
        self.payment = payment

    def clean_version(self) -> Any:
        value = parse_datetime(self.cleaned_data["version"])
        if value is None:
            raise forms.ValidationError("This page is damaged; open it again.")
        return value


class NoteForm(ActionForm):
    note = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="What you checked (kept in the payment's timeline).",
    )


class AmountForm(ActionForm):
    """An amount in major units (``12.34`` SGD); empty means all that is left."""

    ledger: type[Capture] | type[Refund]
    verb = "capture"

    amount = forms.CharField(
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "size": 12}),
    )

    def __init__(self, *args: Any, payment: Payment, **kwargs: Any) -> None:
        super().__init__(*args, payment=payment, **kwargs)
        field = self.fields["amount"]
        digits = currency_exponent(payment.currency)
        example = "1234" if digits == 0 else "12." + "34567"[:digits]
        field.label = f"Amount ({payment.currency})"
        field.help_text = (
            f"In {payment.currency}, up to {digits} decimal places (e.g. {example}). "
            f"Leave empty to {self.verb} all that is left: {money(self.left, payment.currency)}."
        )
        field.widget.attrs["placeholder"] = str(self.left_major)

    @property
    def base(self) -> int:
        """What the ledger is counted against (authorized or captured), in minor units."""
        raise NotImplementedError

    @cached_property
    def in_flight(self) -> int:
        rows = self.ledger.objects.filter(payment=self.payment, status="PENDING")
        return int(rows.aggregate(total=Sum("amount"))["total"] or 0)

    @cached_property
    def left(self) -> int:
        """What is left, requests still in flight counted (the service counts them the same way)."""
        rows = self.ledger.objects.filter(payment=self.payment, status__in=IN_FLIGHT_OR_DONE)
        return max(0, self.base - int(rows.aggregate(total=Sum("amount"))["total"] or 0))

    @property
    def left_major(self) -> Decimal:
        return Decimal(self.left).scaleb(-currency_exponent(self.payment.currency))

    def clean_amount(self) -> int | None:
        text = (self.cleaned_data.get("amount") or "").strip().replace(",", "")
        if not text:
            return None
        currency = self.payment.currency
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise forms.ValidationError(f"Enter an amount in {currency}, such as 12.34.") from None
        if not value.is_finite():
            raise forms.ValidationError(f"Enter an amount in {currency}, such as 12.34.")
        try:
            minor = to_minor_units(value, currency)
        except MoneyError:
            digits = currency_exponent(currency)
            raise forms.ValidationError(
                f"{currency} has {digits} decimal place{'s' if digits != 1 else ''}: {text} has more."
            ) from None
        if minor <= 0:
            raise forms.ValidationError("The amount must be more than zero.")
        left = self.left
        if minor > left:
            flying = self.in_flight
            extra = f" ({money(flying, currency)} more is in flight)" if flying else ""
            raise forms.ValidationError(f"Only {money(left, currency)} is left to {self.verb}{extra}.")
        return minor


class CaptureForm(AmountForm):
    ledger = Capture
    verb = "capture"

    final = forms.BooleanField(
        required=False,
        label="Last capture",
        help_text="Send isLastCapture: Antom releases what is left of the authorization after this capture.",
    )

    @property
    def base(self) -> int:
        return self.payment.amount


class RefundForm(AmountForm):
    ledger = Refund
    verb = "refund"

    reason = forms.CharField(
        max_length=256, help_text="Sent to Antom as refundReason and kept with the refund (e.g. 'item returned')."
    )

    @property
    def base(self) -> int:
        return self.payment.captured_amount
