"""Errors of the payments domain (the client's own errors live in ``antom_django.client.errors``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Payment


class PaymentError(Exception):
    """Base of every refusal by the service layer; ``str()`` is a sentence fit for an operator."""

    def __init__(self, message: str, *, payment: Payment | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.payment = payment


class InvalidTransition(PaymentError):
    """The payment is not in a status that allows this operation (e.g. capturing a failed payment)."""


class InvalidAmount(PaymentError, ValueError):
    """The amount is not a positive integer of minor units, or not in the payment's currency."""


class AmountExceeded(PaymentError):
    """The amount is more than what is left to capture or refund (in-flight requests included)."""


class GatewayRefused(PaymentError):
    """Antom answered ``resultStatus`` F to an operation that has no ledger row to record it (cancel)."""

    def __init__(
        self, message: str, *, payment: Payment | None = None, result_code: str = "", result_message: str = ""
    ) -> None:
        super().__init__(message, payment=payment)
        self.result_code = result_code
        self.result_message = result_message


class PaymentSessionError(GatewayRefused):
    """Antom refused to create the payment session (``resultStatus`` F); the payment is FAILED."""
