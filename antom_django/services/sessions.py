"""Start a payment: save it with its request id, then ask Antom for a payment session."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils import timezone

from ..client.errors import AntomFailed, AntomOutcomeUnknown, ConfigurationError
from ..client.money import Amount
from ..conf import antom_settings
from ..exceptions import InvalidAmount, InvalidTransition, PaymentSessionError
from ..models import Payment, PaymentEvent, Source
from .context import Ctx, atomic, get_client, lock, move, record, user_or_none

if TYPE_CHECKING:
    from ..client.api import AntomClient


def start_payment(
    *,
    amount: Amount,
    reference_order_id: str,
    description: str,
    order: models.Model | None = None,
    user: Any = None,
    buyer: Mapping[str, Any] | None = None,
    goods: list[Mapping[str, Any]] | None = None,
    redirect_url: str | None = None,
    notify_url: str | None = None,
    source: str = Source.API,
    client: AntomClient | None = None,
) -> Payment:
    """Create a payment and its Antom session; returns the payment in PENDING with ``session_data``.

    The payment and its ``payment_request_id`` are committed *before* Antom is called, so an
    unknown outcome can be retried with :func:`retry_session` under the same id. Antom's F
    marks the payment FAILED and raises :class:`PaymentSessionError`; an unknown outcome
    leaves it INITIATED and re-raises :class:`~antom_django.client.AntomOutcomeUnknown`.
    """
    if not isinstance(amount, Amount):
        raise InvalidAmount("amount must be an antom_django.client.Amount (integer minor units + currency)")
    if amount.value <= 0:
        raise InvalidAmount(f"a payment needs a positive amount, not {amount}")
    if not reference_order_id:
        raise ValueError("reference_order_id is required")
    antom = get_client(client)
    with atomic():
        payment = Payment.objects.create(
            amount=amount.value,
            currency=amount.currency,
            reference_order_id=str(reference_order_id)[:64],
            description=(description or "")[:256],
            order=order,
            user=user_or_none(user),
            is_authorization=bool(antom_settings.IS_AUTHORIZATION),
            capture_mode=str(antom_settings.CAPTURE_MODE or ""),
        )
    return _create_session(
        payment,
        Ctx(source=source, user=user),
        antom,
        buyer=buyer,
        goods=goods,
        redirect_url=redirect_url,
        notify_url=notify_url,
    )


def retry_session(
    payment: Payment,
    *,
    buyer: Mapping[str, Any] | None = None,
    goods: list[Mapping[str, Any]] | None = None,
    redirect_url: str | None = None,
    notify_url: str | None = None,
    source: str = Source.API,
    user: Any = None,
    client: AntomClient | None = None,
) -> Payment:
    """Ask again for the session of an INITIATED payment (same ``paymentRequestId``, so no double payment)."""
    payment.refresh_from_db()
    if payment.status != Payment.Status.INITIATED:
        raise InvalidTransition(
            f"only an INITIATED payment can retry its session; this one is {payment.status}", payment=payment
        )
    return _create_session(
        payment,
        Ctx(source=source, user=user),
        get_client(client),
        buyer=buyer,
        goods=goods,
        redirect_url=redirect_url,
        notify_url=notify_url,
    )


def _create_session(
    payment: Payment,
    ctx: Ctx,
    antom: AntomClient,
    *,
    buyer: Mapping[str, Any] | None,
    goods: list[Mapping[str, Any]] | None,
    redirect_url: str | None,
    notify_url: str | None,
) -> Payment:
    redirect = redirect_url or antom_settings.REDIRECT_URL
    if not redirect:
        raise ConfigurationError("ANTOM['REDIRECT_URL'] is not set and no redirect_url was given")
    with atomic():
        record(payment, PaymentEvent.Kind.REQUEST, ctx, operation="createPaymentSession", amount=payment.amount)
    try:
        session = antom.create_payment_session(
            payment_request_id=payment.payment_request_id,
            amount=payment.money,
            redirect_url=redirect,
            reference_order_id=payment.reference_order_id,
            order_description=payment.description or payment.reference_order_id,
            notify_url=notify_url or antom_settings.NOTIFY_URL,
            is_authorization=payment.is_authorization,
            capture_mode=payment.capture_mode or None,
            buyer=buyer,
            goods=goods,
        )
    except AntomFailed as exc:
        with atomic():
            locked = lock(payment)
            locked.result_code = (exc.result_code or "")[:64]
            locked.result_message = (exc.result_message or "")[:256]
            locked.save(update_fields=["result_code", "result_message", "updated_at"])
            move(locked, Payment.Status.FAILED, ctx, result_code=exc.result_code)
        raise PaymentSessionError.from_failure("the payment session", exc, payment=locked) from exc
    except AntomOutcomeUnknown as exc:
        with atomic():
            record(
                payment,
                PaymentEvent.Kind.OUTCOME_UNKNOWN,
                ctx,
                operation="createPaymentSession",
                error=type(exc).__name__,
                result_code=exc.result_code,
            )
        raise
    with atomic():
        locked = lock(payment)
        locked.session_id = session.payment_session_id
        locked.session_data = session.payment_session_data
        locked.session_expires_at = session.payment_session_expiry_time
        locked.session_response = {k: v for k, v in session.raw.items() if k != "paymentSessionData"}
        locked.save()
        move(locked, Payment.Status.PENDING, ctx, session_id=session.payment_session_id)
    return locked


def session_is_usable(payment: Payment) -> bool:
    """The buyer can still pay with this payment's session."""
    if payment.status != Payment.Status.PENDING or not payment.session_data:
        return False
    return payment.session_expires_at is None or payment.session_expires_at > timezone.now()
