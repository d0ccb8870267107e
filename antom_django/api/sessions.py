"""``POST sessions/`` over :func:`antom_django.services.open_session`: the request's part, and errors as HTTP."""

from __future__ import annotations

from typing import Any

from .. import services
from ..adapter import AntomAdapter, OrderInfo
from ..conf import antom_settings
from ..exceptions import (
    InvalidAmount,
    OrderAlreadyPaid,
    OrderChanged,
    PaymentError,
    PaymentInProgress,
    PaymentOutcomeUnknown,
    PaymentSessionError,
)
from ..models import Payment, Source
from .errors import BadGateway, Conflict, GatewayUnavailable

CONFLICTS: dict[type[PaymentError], str] = {
    OrderAlreadyPaid: "order_already_paid",
    PaymentInProgress: "payment_in_progress",
    OrderChanged: "order_changed",
}
"""The service's refusals answered 409, with their error code."""

SDK_ENVIRONMENTS = {True: "sandbox", False: "prod"}
"""The ``environment`` value of Antom's web SDK (iOS / Android: the ``sandbox`` option true / false)."""


def open_session(request: Any, adapter: AntomAdapter, info: OrderInfo) -> services.OpenedSession:
    """The order's session by the service's rule, for the caller (the adapter gives the URLs)."""
    caller = getattr(request, "user", None)
    user = caller if caller is not None and caller.is_authenticated else None
    try:
        return services.open_session(
            info,
            redirect_url=adapter.get_redirect_url(request, info),
            notify_url=adapter.get_notify_url(request, info),
            user=user,
            source=Source.API,
        )
    except InvalidAmount as exc:  # the shop's order has nothing to pay (a zero total)
        raise Conflict(f"This order cannot be paid: {exc.message}", "order_not_payable") from None
    except PaymentSessionError as exc:
        raise BadGateway(f"Antom refused to create the payment session: {exc}", "session_failed") from None
    except PaymentOutcomeUnknown as exc:
        raise GatewayUnavailable(exc.message, "antom_unavailable", payment_request_id=_request_id(exc)) from None
    except tuple(CONFLICTS) as exc:
        raise Conflict(exc.message, CONFLICTS[type(exc)], payment_request_id=_request_id(exc)) from None


def _request_id(exc: PaymentError) -> str | None:
    return exc.payment.payment_request_id if exc.payment is not None else None


def session_body(payment: Payment, *, reused: bool, locale: str | None) -> dict[str, Any]:
    """What the web, iOS and Android SDKs need to render the checkout, and the id for the result page."""
    return {
        "paymentRequestId": payment.payment_request_id,
        "paymentSessionId": payment.session_id,
        "paymentSessionData": payment.session_data,
        "paymentSessionExpiryTime": payment.session_expires_at,
        "referenceOrderId": payment.reference_order_id,
        "amount": payment.money.to_wire(),
        "environment": SDK_ENVIRONMENTS[antom_settings.is_sandbox],
        "locale": locale,
        "reused": reused,
    }
