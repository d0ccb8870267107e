"""What :func:`~antom_django.services.context.move` does for an authorization it grants or ends.

Kept apart from :mod:`~antom_django.services.authorization` (which builds on ``context``) so that ``context`` can
call it without an import cycle; it imports nothing of the service layer.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from ..adapter import AntomAdapter, get_adapter
from ..conf import antom_settings
from ..models import Payment
from ..state import CAPTURABLE

if TYPE_CHECKING:
    from .context import Change

logger = logging.getLogger("antom_django.services")

CAPTURE_WINDOW = timedelta(days=7)
"""Antom's documented capture window: an authorization it states no ``authExpiryTime`` for is assumed to end
this long after it was granted."""


def antom_captures(payment: Payment) -> bool:
    """Antom captures this payment itself (no ``isAuthorization``, or ``captureMode`` AUTOMATIC): never capture it."""
    return not payment.is_authorization or payment.capture_mode == "AUTOMATIC"


def watched(payment: Payment) -> bool:
    """An authorization that is still open (AUTHORIZED or PARTIALLY_CAPTURED): its expiry matters."""
    return payment.is_authorization and payment.status in CAPTURABLE


def expires_at(payment: Payment) -> datetime:
    """When the authorization ends: Antom's ``authExpiryTime``, else ``paid_at`` (or ``created_at``) plus
    :data:`CAPTURE_WINDOW`."""
    return payment.auth_expires_at or (payment.paid_at or payment.created_at) + CAPTURE_WINDOW


def on_authorized(change: Change) -> str:
    """An authorization-only payment was just authorized (payment locked).

    Schedules its automatic capture (``capture_at``) as the adapter's
    :meth:`~antom_django.adapter.AntomAdapter.capture_delay` says and has the background work look at it now
    (``next_check_at``), which starts watching its expiry. Returns why it needs review ("" if it does not):
    a hook that raises or answers nonsense holds the payment; ``move`` flags it.
    """
    payment = change.payment
    if not watched(payment):
        return ""  # captured in full already: nothing to schedule or watch
    now = timezone.now()
    delay, problem = None, ""
    if payment.status == Payment.Status.AUTHORIZED and not antom_captures(payment):
        delay, problem = _capture_delay(payment)
    payment.capture_at = None if delay is None else now + timedelta(seconds=delay)
    if payment.next_check_at is None or payment.next_check_at > now:
        payment.next_check_at = now
    change.save("capture_at", "next_check_at")
    return problem


def _capture_delay(payment: Payment) -> tuple[float | None, str]:
    """Seconds until the automatic capture (``None``: hold it), and what went wrong asking the adapter."""
    try:
        adapter = get_adapter()
        if type(adapter).capture_delay is AntomAdapter.capture_delay:
            answer: Any = adapter.capture_delay(payment)  # reads a setting: no query, no savepoint on the hot path
        else:
            # A savepoint: a failed query in the shop's hook must not break the transaction applying Antom's news.
            with transaction.atomic():
                answer = adapter.capture_delay(payment)
    except Exception as exc:  # the shop's code may raise anything; the payment is held, never lost
        logger.exception("capture_delay() failed for payment %s: held for review", payment.payment_request_id)
        return None, f"The adapter's capture_delay() raised {type(exc).__name__}: not captured automatically"
    if answer is True or answer is False:
        return (0.0 if answer else None), ""
    if isinstance(answer, int | float) and math.isfinite(answer) and answer >= 0:
        return float(answer), ""
    logger.error("capture_delay() returned %r for payment %s: held for review", answer, payment.payment_request_id)
    return None, f"The adapter's capture_delay() returned {answer!r}, not True, False or seconds: not captured"


def lapsed(payment: Payment, previous: str) -> bool:
    """A move of this authorization from ``previous`` to CANCELLED is its lapse, not a void.

    So when nobody here voided it (no ``cancel_requested_at``) and its expiry has come (give or take
    ``SESSION_EXPIRY_GRACE``: Antom's clock is not ours): ``payment_authorization_expired`` goes with the move,
    so it is sent exactly once.
    """
    if not payment.is_authorization or previous not in CAPTURABLE or payment.cancel_requested_at is not None:
        return False
    grace = timedelta(seconds=float(antom_settings.SESSION_EXPIRY_GRACE))
    return expires_at(payment) - grace <= timezone.now()
