"""Start a payment: save it with its request id and request, then ask Antom for a payment session."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils import timezone

from ..client.errors import AntomFailed, AntomOutcomeUnknown, ConfigurationError
from ..client.money import Amount
from ..conf import antom_settings
from ..exceptions import InvalidAmount, InvalidTransition, PaymentSessionError
from ..models import Payment, PaymentEvent, Source
from .context import Ctx, atomic, changing, get_client, lock, move, record, user_or_none
from .schedule import seconds

if TYPE_CHECKING:
    from ..client.api import AntomClient

SESSION_REUSE_MARGIN = timedelta(minutes=2)
"""A session expiring sooner than this is not handed out again: the buyer needs time to pay."""

USABLE_STATUSES = frozenset({Payment.Status.PENDING, Payment.Status.PROCESSING})


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

    The payment, its ``payment_request_id`` and what the request is built from (``session_request``)
    are committed *before* Antom is called, so an unknown outcome can be retried with
    :func:`retry_session` under the same id and with the identical body. Antom's F marks the payment
    FAILED and raises :class:`PaymentSessionError`; an unknown outcome leaves it INITIATED and
    re-raises :class:`~antom_django.client.AntomOutcomeUnknown`.
    """
    payment = new_payment(
        amount=amount,
        reference_order_id=reference_order_id,
        description=description,
        order=order,
        user=user,
        buyer=buyer,
        goods=goods,
        redirect_url=redirect_url,
        notify_url=notify_url,
    )
    return request_session(payment, Ctx(source=source, user=user), get_client(client))


def new_payment(
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
) -> Payment:
    """Check the arguments and commit an INITIATED payment with its session request; nothing is sent."""
    if not isinstance(amount, Amount):
        raise InvalidAmount("amount must be an antom_django.client.Amount (integer minor units + currency)")
    if amount.value <= 0:
        raise InvalidAmount(f"a payment needs a positive amount, not {amount}")
    if not reference_order_id:
        raise ValueError("reference_order_id is required")
    payment = Payment(
        amount=amount.value,
        currency=amount.currency,
        reference_order_id=stored_reference(reference_order_id),
        description=(description or "")[:256],
        order=order,
        user=user_or_none(user),
        is_authorization=bool(antom_settings.IS_AUTHORIZATION),
        capture_mode=str(antom_settings.CAPTURE_MODE or ""),
        # In the background work's queue from the start: a lost session answer is closed from there.
        next_check_at=timezone.now() + seconds("POLL_INTERVAL"),
    )
    payment.session_request = session_request(
        payment, buyer=buyer, goods=goods, redirect_url=redirect_url, notify_url=notify_url
    )
    with atomic():
        payment.save(force_insert=True)
    return payment


def stored_reference(reference_order_id: str) -> str:
    """The order reference as a payment stores it (and Antom gets it): at most Antom's 64 characters."""
    return str(reference_order_id)[:64]


def session_request(
    payment: Payment,
    *,
    buyer: Mapping[str, Any] | None,
    goods: list[Mapping[str, Any]] | None,
    redirect_url: str | None,
    notify_url: str | None,
) -> dict[str, Any]:
    """The keyword arguments of ``AntomClient.create_payment_session`` besides the request id and amount.

    Defaults (``REDIRECT_URL``, ``NOTIFY_URL``) are resolved here, once, and the result is JSON as stored,
    so the first request and every retry are built from the same values.
    """
    redirect = redirect_url or antom_settings.REDIRECT_URL
    if not redirect:
        raise ConfigurationError("ANTOM['REDIRECT_URL'] is not set and no redirect_url was given")
    params = {
        "redirect_url": str(redirect),
        "notify_url": str(notify_url or antom_settings.NOTIFY_URL or "") or None,
        "reference_order_id": payment.reference_order_id,
        "order_description": payment.description or payment.reference_order_id,
        "is_authorization": payment.is_authorization,
        "capture_mode": payment.capture_mode or None,
        "buyer": dict(buyer) if buyer else None,
        "goods": [dict(item) for item in goods] if goods else None,
    }
    stored: dict[str, Any] = json.loads(json.dumps(params))  # what a JSONField gives back, tuples as lists
    return stored


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
    """Ask again for the session of an INITIATED payment: same ``paymentRequestId`` and the identical body.

    The body is rebuilt from the payment's ``session_request``, so Antom's idempotency accepts it;
    ``buyer``, ``goods`` and the URLs are used only for a payment saved before that field existed.
    """
    payment.refresh_from_db()
    if payment.status != Payment.Status.INITIATED:
        raise InvalidTransition(
            f"only an INITIATED payment can retry its session; this one is {payment.status}", payment=payment
        )
    if not payment.session_request:
        payment.session_request = session_request(
            payment, buyer=buyer, goods=goods, redirect_url=redirect_url, notify_url=notify_url
        )
        Payment.objects.filter(pk=payment.pk).update(session_request=payment.session_request)
    return request_session(payment, Ctx(source=source, user=user), get_client(client))


def request_session(payment: Payment, ctx: Ctx, antom: AntomClient) -> Payment:
    """createPaymentSession for a saved INITIATED payment, from its ``session_request``; apply the answer."""
    with atomic():
        record(payment, PaymentEvent.Kind.REQUEST, ctx, operation="createPaymentSession", amount=payment.amount)
    try:
        session = antom.create_payment_session(
            payment_request_id=payment.payment_request_id, amount=payment.money, **payment.session_request
        )
    except AntomFailed as exc:
        with atomic():
            locked = lock(payment)
            locked.result_code = (exc.result_code or "")[:64]
            locked.result_message = (exc.result_message or "")[:256]
            locked.save(update_fields=["result_code", "result_message", "updated_at"])
            with changing(locked, ctx) as change:
                move(change, Payment.Status.FAILED, result_code=exc.result_code)
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
        locked.next_check_at = timezone.now() + seconds("POLL_INTERVAL")  # result polling starts
        locked.save()
        with changing(locked, ctx) as change:
            move(change, Payment.Status.PENDING, session_id=session.payment_session_id)
    return locked


def session_is_usable(payment: Payment, *, margin: timedelta = SESSION_REUSE_MARGIN) -> bool:
    """The buyer can still pay with this payment's session: the one rule for handing a session out again.

    Pending or processing at Antom, with session data, no cancel sent (``cancel_requested_at``: Antom may
    have closed it), and expiring no sooner than ``margin`` from now (a session without an expiry time
    counts as live).
    """
    if payment.status not in USABLE_STATUSES or not payment.session_data or payment.cancel_requested_at:
        return False
    return payment.session_expires_at is None or payment.session_expires_at > timezone.now() + margin


def session_has_expired(payment: Payment) -> bool:
    """The payment's session expiry time, as Antom stated it, is past by our clock (``False`` if unknown)."""
    return payment.session_expires_at is not None and payment.session_expires_at < timezone.now()


def session_closes_at(payment: Payment) -> datetime | None:
    """When the buyer can no longer pay with the session for certain: its expiry plus ``SESSION_EXPIRY_GRACE``.

    Antom states the expiry to the second (the session may live up to a second longer) by its own clock,
    which may run behind ours; ``None`` when the expiry is unknown.
    """
    if payment.session_expires_at is None:
        return None
    return payment.session_expires_at + timedelta(seconds=float(antom_settings.SESSION_EXPIRY_GRACE))


def session_is_over(payment: Payment) -> bool:
    """No buyer can pay with this payment's session any more: :func:`session_closes_at` is past."""
    closes_at = session_closes_at(payment)
    return closes_at is not None and closes_at < timezone.now()
