"""An authorization's life after Antom grants it: its automatic capture, and its end at ``authExpiryTime``.

:func:`~.auth_hooks.on_authorized` schedules the capture the adapter asks for (``capture_at``) as the payment is
authorized; :func:`capture_due` runs it, once; :func:`check_expiry` applies ``AUTH_EXPIRY_POLICY`` a margin before
the expiry and confirms the end by inquiry. The background work (:mod:`antom_django.services.due`) calls these two
when a payment is due.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from django.utils import timezone

from .. import signals
from ..client.errors import AntomOutcomeUnknown
from ..conf import antom_settings
from ..exceptions import AmountExceeded, GatewayRefused, InvalidTransition
from ..models import Capture, Payment, PaymentEvent, Source
from ..state import CAPTURABLE
from . import actions
from .auth_hooks import antom_captures, expires_at, watched
from .context import Ctx, atomic, changing, flag, lock, move, record
from .results import inquire, sync_payment
from .schedule import seconds

if TYPE_CHECKING:
    from ..client.api import AntomClient

logger = logging.getLogger("antom_django.services")
P = Payment.Status
C = Capture.Status
IN_FLIGHT_OR_DONE = (C.PENDING, C.SUCCEEDED)


def capture_due(
    payment: Payment, *, source: str = Source.SYSTEM, client: AntomClient | None = None, now: datetime | None = None
) -> Capture | None:
    """Run the payment's automatic capture if ``capture_at`` is due: capture all of it, once.

    Returns the :class:`~antom_django.models.Capture` (SUCCEEDED, FAILED, or PENDING for its follow-up), or
    ``None`` when nothing was sent. The capture goes ahead only for an AUTHORIZED payment that is ours to
    capture, not expired, with no capture made or in flight; after the ``"capture"`` expiry policy, for what
    remains of a partly captured one. Otherwise ``capture_at`` is cleared (with a cancel in flight it waits a
    ``SWEEP_INTERVAL``). The capture row, created under the row lock before Antom is called, is the proof it
    happened: a worker that crashed before clearing ``capture_at``, or a second worker racing the first, finds
    it and sends nothing (``AmountExceeded``: it counts captures in flight). A failed capture flags the payment.
    """
    now = now or timezone.now()
    ctx = Ctx(source=source)
    with atomic(), changing(lock(payment), ctx) as change:
        locked = change.payment
        if locked.capture_at is None or locked.capture_at > now:
            return None
        if locked.cancel_requested_at is not None and locked.status in CAPTURABLE:
            # A void is in flight and most likely wins; if Antom refuses it, capture after all.
            locked.capture_at = now + seconds("SWEEP_INTERVAL")
            change.save("capture_at")
            return None
        if not _may_capture(locked, now):
            locked.capture_at = None
            change.save("capture_at")
            return None
    try:
        row: Capture | None = actions.capture(locked, source=source, client=client)
    except (AmountExceeded, InvalidTransition) as exc:
        logger.info("automatic capture of %s not sent: %s", locked.payment_request_id, exc)
        row = None
    with atomic(), changing(lock(payment), ctx) as change:
        change.payment.capture_at = None
        change.save("capture_at")
        if row is not None and row.status == C.FAILED:
            code = row.result_code or "F"
            flag(change, f"The automatic capture {row.capture_request_id} failed ({code}): capture or void it by hand")
    return row


def _may_capture(payment: Payment, now: datetime) -> bool:
    """The due capture may be sent (payment locked)."""
    if antom_captures(payment) or payment.status not in CAPTURABLE:
        return False
    if payment.auth_expires_at is not None and payment.auth_expires_at <= now:
        return False
    if payment.expiry_handled_at is not None and antom_settings.AUTH_EXPIRY_POLICY == "capture":
        return True  # what remains, captures in flight counted: a second try finds nothing left
    # The automatic capture takes an untouched authorization whole: a capture made or in flight is a person's
    # (who then captures the rest), or ours before a crash.
    return payment.status == P.AUTHORIZED and not payment.captures.filter(status__in=IN_FLIGHT_OR_DONE).exists()


# -- expiry ---------------------------------------------------------------------------------------------------------


def check_expiry(
    payment: Payment, *, source: str = Source.SYSTEM, client: AntomClient | None = None, now: datetime | None = None
) -> datetime | None:
    """Watch an open authorization (AUTHORIZED, PARTIALLY_CAPTURED) reach its end; returns when to look again
    (``None``: nothing more to watch here).

    1. ``auth_expires_at`` unknown: one inquiry to learn it (none when Antom was asked less than
       ``POLL_INTERVAL`` ago). If Antom still states none, the authorization is assumed to end seven days
       (:data:`~.auth_hooks.CAPTURE_WINDOW`, Antom's documented capture window) after ``paid_at``, or ``created_at``.
    2. From ``AUTH_EXPIRY_MARGIN`` before it, once (``expiry_handled_at``, set under the row lock in the
       transaction that sends ``payment_authorization_expiring``), ``AUTH_EXPIRY_POLICY``: ``"capture"`` what
       remains (through ``capture_at``, so a crash cannot lose it; :func:`capture_due`), ``"void"`` it (cancel)
       when nothing was captured, else flag it (Antom cannot cancel part of one), or ``"flag"`` it. Reached only
       after the expiry, the policy is too late and is skipped.
    3. From the expiry, an inquiry confirms the end. With nothing captured, Antom reports it CANCELLED and the
       normal path moves it there, ``payment_authorization_expired`` going with that move
       (:func:`~.auth_hooks.lapsed`). Partly captured with no capture in flight, the rest lapsed: it moves to
       SUCCEEDED (``payment_succeeded``, ``payment_authorization_expired``). While Antom still reports it open
       it is asked again every ``SWEEP_INTERVAL``; ``FOLLOW_UP_WINDOW`` after the expiry it is flagged for
       review and left to people (and to the sweep).
    """
    now = now or timezone.now()
    current = Payment.objects.get(pk=payment.pk)
    if watched(current) and current.auth_expires_at is None:
        current = _learn_expiry(current, source, client)
    if not watched(current):
        return None
    expires = expires_at(current)
    margin_at = expires - seconds("AUTH_EXPIRY_MARGIN")
    if now < margin_at:
        return margin_at
    if now < expires:
        if current.expiry_handled_at is None and not watched(_apply_policy(current, expires, source, client, now)):
            return None
        return expires
    return _confirm_end(current, expires, source, client, now)


def _learn_expiry(payment: Payment, source: str, client: AntomClient | None) -> Payment:
    try:
        return sync_payment(payment, source=source, client=client, min_interval=float(antom_settings.POLL_INTERVAL))
    except AntomOutcomeUnknown as exc:
        logger.info("inquiryPayment %s for its authExpiryTime: %s", payment.payment_request_id, exc)
        return payment


def _apply_policy(
    payment: Payment, expires: datetime, source: str, client: AntomClient | None, now: datetime
) -> Payment:
    """Send ``payment_authorization_expiring`` and apply the policy, once; returns the payment as it is after."""
    policy = str(antom_settings.AUTH_EXPIRY_POLICY)
    action = ""
    when = expires.isoformat(timespec="seconds")
    with atomic(), changing(lock(payment), Ctx(source=source)) as change:
        locked = change.payment
        if locked.expiry_handled_at is not None or not watched(locked):
            return locked  # applied by another worker
        locked.expiry_handled_at = now
        change.save("expiry_handled_at")
        record(
            locked,
            PaymentEvent.Kind.EXPIRING,
            change.ctx,
            announce=[signals.payment_authorization_expiring],
            policy=policy,
            expires_at=expires.isoformat(),
        )
        if policy == "capture":
            # The intent is on the row before anything is sent: the due processor runs it if this worker dies.
            locked.capture_at = now
            change.save("capture_at")
            action = policy
        elif policy == "void" and locked.captures.filter(status__in=IN_FLIGHT_OR_DONE).exists():
            flag(change, f"The authorization expires at {when} and cannot be voided, part of it is captured")
        elif policy == "void":
            action = policy
        else:
            flag(change, f"The authorization expires at {when}: capture or void it before then")
    if action == "capture":
        capture_due(payment, source=source, client=client, now=now)
    elif action == "void":
        _void(payment, source, client)
    return Payment.objects.get(pk=payment.pk)


def _void(payment: Payment, source: str, client: AntomClient | None) -> None:
    """Cancel the expiring authorization. Lost to a crash, it lapses at its expiry all the same."""
    try:
        actions.cancel(payment, source=source, client=client)
    except InvalidTransition as exc:  # captured or cancelled meanwhile
        logger.info("void of expiring %s not sent: %s", payment.payment_request_id, exc)
    except AntomOutcomeUnknown as exc:  # marked in flight; its follow-up, or the expiry, settles it
        logger.info("void of expiring %s unanswered: %s", payment.payment_request_id, exc)
    except GatewayRefused as exc:
        with atomic(), changing(lock(payment), Ctx(source=source)) as change:
            flag(change, f"Antom refused to void the expiring authorization: {exc.result_code or 'F'}")


def _confirm_end(
    payment: Payment, expires: datetime, source: str, client: AntomClient | None, now: datetime
) -> datetime | None:
    """Past the expiry: ask Antom, and close what it confirms."""
    again = now + seconds("SWEEP_INTERVAL")
    try:
        found = inquire(payment, source=source, client=client)
    except AntomOutcomeUnknown as exc:
        logger.info("inquiryPayment %s after its authorization expired: %s", payment.payment_request_id, exc)
        return again
    if not watched(found.payment):
        return None  # CANCELLED (the move sent the expiry: auth_hooks.lapsed), or captured in full
    if found.refused is None and found.payment.status == P.PARTIALLY_CAPTURED and _close_lapsed(payment, source):
        return None
    if now >= expires + seconds("FOLLOW_UP_WINDOW"):
        with atomic(), changing(lock(payment), Ctx(source=source)) as change:
            if watched(change.payment):
                when = expires.isoformat(timespec="seconds")
                flag(change, f"Antom still reports the authorization open after its expiry at {when}")
        return None
    return again


def _close_lapsed(payment: Payment, source: str) -> bool:
    """A partly captured authorization past its expiry with no capture in flight ends SUCCEEDED: the rest lapsed."""
    with atomic(), changing(lock(payment), Ctx(source=source)) as change:
        locked = change.payment
        if locked.status != P.PARTIALLY_CAPTURED or locked.captures.filter(status=C.PENDING).exists():
            return False
        move(
            change,
            P.SUCCEEDED,
            expired=True,
            captured=locked.captured_amount,
            note="the uncaptured rest of the authorization lapsed",
        )
    return True
