"""Choosing between a new payment session and an order's existing one, one caller per order at a time."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial
from typing import Any

from django.db import connection
from django.utils import timezone

from .. import services
from ..adapter import AntomAdapter, OrderInfo
from ..client.errors import AntomError, AntomFailed, AntomOutcomeUnknown
from ..exceptions import PaymentError, PaymentSessionError
from ..models import Payment, Source
from .errors import BadGateway, Conflict, GatewayUnavailable

REUSE_MARGIN = timedelta(minutes=2)
"""A session expiring sooner than this is not handed out again: the buyer needs time to pay."""

_local_locks: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()


def _lock_key(reference: str) -> int:
    digest = hashlib.blake2b(f"antom_django.order:{reference}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def order_lock(reference: str) -> Iterator[None]:
    """Serialize session creation per order, across processes on PostgreSQL.

    A session-level advisory lock (not a transaction) because the payment row
    must commit before Antom is called, inside the locked section; a second
    caller waits, then finds and reuses the first caller's session.
    """
    if connection.vendor == "postgresql":
        key = _lock_key(reference)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [key])
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        return
    # Other databases: serialize within this process (SQLite has one writer anyway).
    with _local_guard:
        lock = _local_locks.setdefault(reference, threading.Lock())
    with lock:
        yield


def open_session(request: Any, adapter: AntomAdapter, info: OrderInfo) -> tuple[Payment, bool]:
    """The payment whose session the buyer should use, and whether it was reused."""
    with order_lock(info.reference_order_id):
        existing = list(Payment.objects.filter(reference_order_id=info.reference_order_id).order_by("-created_at"))
        _refuse_if_paid(existing)
        for payment in existing:
            if not payment.is_pending:
                continue
            if payment.money != info.amount:
                _retire(payment)
                continue
            if payment.status == Payment.Status.INITIATED:
                # Session creation had an unknown outcome: same request id, so Antom dedupes.
                return _call(partial(services.retry_session, payment), payment), False
            if _live(payment):
                return payment, True
            # Its session expired: the buyer may still have paid at the last moment, so ask Antom first.
            _settle_expired(payment)
        return _start(request, adapter, info), False


def _refuse_if_paid(payments: list[Payment]) -> None:
    for payment in payments:
        if payment.is_paid:
            raise Conflict(
                "This order is already paid.", "order_already_paid", payment_request_id=payment.payment_request_id
            )


def _settle_expired(payment: Payment) -> None:
    try:
        payment = services.sync_payment(payment, source=Source.API)  # the refreshed payment
    except AntomError as exc:
        raise GatewayUnavailable(
            f"Could not confirm the outcome of this order's expired payment ({type(exc).__name__}); retry.",
            "antom_unavailable",
            payment_request_id=payment.payment_request_id,
        ) from None
    _refuse_if_paid([payment])
    if payment.is_pending:
        raise Conflict(
            "A payment for this order is still being processed; wait for its result.",
            "payment_in_progress",
            payment_request_id=payment.payment_request_id,
        )


def _live(payment: Payment) -> bool:
    if not payment.session_data:
        return False
    expires = payment.session_expires_at
    return expires is None or expires > timezone.now() + REUSE_MARGIN


def _retire(payment: Payment) -> None:
    """The order's amount changed under a live session: cancel it so it cannot be paid as well."""
    try:
        services.cancel(payment, source=Source.API)
    except (PaymentError, AntomError) as exc:
        raise Conflict(
            f"The order changed while a session for the old amount was open, and it could not be cancelled: {exc}",
            "order_changed",
            payment_request_id=payment.payment_request_id,
        ) from None


def _start(request: Any, adapter: AntomAdapter, info: OrderInfo) -> Payment:
    user = info.user
    if user is None and getattr(request, "user", None) is not None and request.user.is_authenticated:
        user = request.user
    return _call(
        lambda: services.start_payment(
            amount=info.amount,
            reference_order_id=info.reference_order_id,
            description=info.description,
            order=info.order,
            user=user,
            buyer=info.buyer,
            goods=info.goods,
            redirect_url=adapter.get_redirect_url(request, info),
            notify_url=adapter.get_notify_url(request, info),
            source=Source.API,
        ),
        None,
    )


def _call(run: Callable[[], Payment], payment: Payment | None) -> Payment:
    request_id = payment.payment_request_id if payment is not None else None
    try:
        result: Payment = run()
    except (PaymentSessionError, AntomFailed) as exc:
        raise BadGateway(f"Antom refused to create the payment session: {exc}", "session_failed") from None
    except AntomOutcomeUnknown as exc:
        raise GatewayUnavailable(
            f"Antom's answer is unknown ({type(exc).__name__}); retry and the same payment is used.",
            "antom_unavailable",
            payment_request_id=exc.request_id or request_id,
        ) from None
    return result


def session_body(payment: Payment, *, reused: bool) -> dict[str, Any]:
    return {
        "paymentRequestId": payment.payment_request_id,
        "paymentSessionId": payment.session_id,
        "paymentSessionData": payment.session_data,
        "paymentSessionExpiryTime": payment.session_expires_at,
        "referenceOrderId": payment.reference_order_id,
        "amount": payment.money.to_wire(),
        "reused": reused,
    }
