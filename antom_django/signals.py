"""Signals sent once per real transition, after the transaction that made it commits.

Every signal is sent with ``sender=Payment`` and the keyword arguments ``payment``, ``source`` (a
:class:`~antom_django.models.Source` value) and ``event`` (the :class:`~antom_django.models.PaymentEvent` that
records the transition: its ``pk`` is the transition's idempotency key); capture and refund signals add
``capture`` / ``refund``; ``payment_status_changed`` adds ``from_status`` and ``to_status``.
Receivers run with ``send_robust``: one that raises is logged and neither undoes the
payment's state nor stops the other receivers.

The event row is the outbox (:mod:`antom_django.services.outbox`): its signals are written with the transition
and cleared once sent, so a process that dies between the commit and the send leaves them to the sweep.
Delivery is therefore at least once: a second send of the same ``event`` happens only after such a death (or
a receiver slower than ``SIGNAL_RESEND_AFTER``).
"""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import Signal

logger = logging.getLogger("antom_django.signals")

payment_status_changed = Signal()
"""Any payment status change (``from_status``, ``to_status``)."""
payment_authorized = Signal()
"""An authorization-only payment's card was authorized: money is held and waits for a capture."""
payment_succeeded = Signal()
"""The payment is SUCCEEDED: captured in full (or as a last partial capture), or charged outright."""
payment_failed = Signal()
"""The buyer's payment failed (declined, expired, refused by Antom)."""
payment_cancelled = Signal()
"""The payment was cancelled or its authorization voided."""
payment_authorization_expiring = Signal()
"""An authorization reaches ``AUTH_EXPIRY_MARGIN`` before its ``authExpiryTime``; sent once, with ``policy``
(``AUTH_EXPIRY_POLICY``: what the background work does about it) and ``expires_at``."""
payment_authorization_expired = Signal()
"""An authorization passed its ``authExpiryTime`` and Antom confirmed it ended: nothing more can be captured
(``captured_amount`` says what was)."""
payment_needs_review = Signal()
"""Antom told us something we refused to apply; ``reason`` says what."""
capture_succeeded = Signal()
capture_failed = Signal()
refund_succeeded = Signal()
refund_failed = Signal()


BY_NAME: dict[str, Signal] = {name: value for name, value in list(globals().items()) if isinstance(value, Signal)}
"""Every signal above by its name (the names an event's outbox column holds)."""
NAME_OF: dict[Signal, str] = {signal: name for name, signal in BY_NAME.items()}


def send_now(signal: Signal, **kwargs: Any) -> None:
    """Send to every receiver; log (never raise) what a receiver raises."""
    from .models import Payment

    for receiver, result in signal.send_robust(sender=Payment, **kwargs):
        if isinstance(result, Exception):
            logger.error(
                "antom_django signal receiver %r failed for payment %s",
                receiver,
                getattr(kwargs.get("payment"), "payment_request_id", "?"),
                exc_info=(type(result), result, result.__traceback__),
            )
