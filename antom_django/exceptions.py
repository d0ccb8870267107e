"""Errors of the payments domain (the client's own errors live in ``antom_django.client.errors``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from .client.errors import AntomFailed
    from .models import Payment

_Refused = TypeVar("_Refused", bound="GatewayRefused")


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

    @classmethod
    def from_failure(cls: type[_Refused], what: str, exc: AntomFailed, *, payment: Payment) -> _Refused:
        """``Antom refused <what>: <result code>``, carrying the result code and message of Antom's F."""
        code = exc.result_code or ""
        message = f"Antom refused {what}: {code or 'no result code'}"
        return cls(message, payment=payment, result_code=code, result_message=exc.result_message or "")


class PaymentSessionError(GatewayRefused):
    """Antom refused to create the payment session (``resultStatus`` F); the payment is FAILED."""


# -- checkout (services.open_session): why an order gets no session now ---------


class OrderAlreadyPaid(PaymentError):
    """The order has a paid payment (authorized, captured or refunded): it gets no new session."""


class PaymentInProgress(PaymentError):
    """A payment of the order is still being decided by Antom (its session expired): wait for its result.

    Also raised while a closed payment of the order is flagged ``needs_review``, until an operator clears it.
    """


class OrderChanged(PaymentError):
    """The order's amount changed while a payment for the old amount was open, and that one could not be cancelled."""


class PaymentOutcomeUnknown(PaymentError):
    """Antom's answer is unknown (U, timeout, 5xx, unreadable); asking again is safe and reuses the same payment.

    The client's :class:`~antom_django.client.AntomOutcomeUnknown` is the ``__cause__``.
    """
