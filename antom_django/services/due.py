"""The background work's queue: each payment's next due time, claimed in batches, tended one at a time.

``Payment.next_check_at`` is when the background work next looks at a payment; NULL means nothing is due.
Workers :func:`claim` due rows in batches (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two workers never take
the same payment; SQLite's ``BEGIN IMMEDIATE`` serialises claims) and push their due time forward by a lease, so
the claim of a worker killed mid-way comes back by itself when the lease ends. :func:`tend` then does what is
due — poll a pending result, capture, apply the authorization-expiry policy, follow up unknown outcomes — and
the next due time is written only if nobody else moved it meanwhile (:func:`wake` brings a time forward).

Nothing waits in worker memory: thousands of pending payments are thousands of indexed timestamps, not ETA
tasks, and a worker restarted after a crash picks up where the database says.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import close_old_connections, connections
from django.db.models import Min
from django.utils import timezone

from ..client.errors import AntomError
from ..exceptions import GatewayRefused, InvalidTransition
from ..models import Payment, Source
from ..state import CAPTURABLE, PAYMENT_PENDING
from . import authorization, followup
from .actions import cancel
from .context import flag_once
from .results import sync_payment
from .schedule import claim, earliest, release, seconds
from .sessions import session_closes_at

if TYPE_CHECKING:
    from ..client.api import AntomClient

logger = logging.getLogger("antom_django.background")
P = Payment.Status

CLAIM_SHARE = 10
"""The most payments one thread of :func:`run_due` claims at a time."""

SESSION_MAX_TTL = 3600.0
"""Antom's longest payment session (its default): after it, a session whose answer we lost is certainly closed."""


def poll_until(payment: Payment) -> datetime:
    """The end of 2-second polling: ``POLL_WINDOW`` after the payment was created, and, while the buyer has
    not paid (PENDING), no later than the session closes."""
    end = payment.created_at + seconds("POLL_WINDOW")
    closes = session_closes_at(payment) if payment.status == P.PENDING else None
    return min(end, closes) if closes is not None else end


def initiated_closes_at(payment: Payment) -> datetime:
    """When a payment whose session answer was lost is closed: no session Antom made for it can be alive."""
    grace = seconds("SESSION_EXPIRY_GRACE")
    return payment.created_at + timedelta(seconds=SESSION_MAX_TTL) + grace


def tend(
    payment: Payment,
    *,
    source: str = Source.POLL,
    client: AntomClient | None = None,
    now: datetime | None = None,
    sweeping: bool = False,
) -> datetime | None:
    """Do what is due about one payment; returns when it is next due (``None``: nothing to watch).

    Polling: a PENDING or PROCESSING payment is asked about (inquiryPayment) every ``POLL_INTERVAL`` until
    :func:`poll_until`, then once more when its session closes, then it is the sweep's (``sweeping=True``
    asks at once, whatever the window). A payment whose session answer was lost (INITIATED) is closed by a
    cancel once no session can be alive. Authorizations: the automatic capture when due, and the
    authorization-expiry policy (:mod:`~antom_django.services.authorization`). Captures, refunds and cancels
    with an unknown outcome: :func:`~antom_django.services.followup.follow_up`. An unknown answer from Antom
    here is only "not settled yet".
    """
    now = now or timezone.now()
    nexts: list[datetime | None] = []
    if payment.status == P.INITIATED:
        closes = initiated_closes_at(payment)
        if now < closes:
            nexts.append(closes)
        else:
            payment = _close_initiated(payment, source, client)
    if payment.status in PAYMENT_PENDING and payment.status != P.INITIATED:
        payment, next_poll = _poll(payment, source=source, client=client, now=now, sweeping=sweeping)
        nexts.append(next_poll)
    if payment.status in PAYMENT_PENDING:
        _flag_if_stuck(payment, source, now)
    if payment.capture_at is not None and payment.capture_at <= now:
        # Captures when due; clears a capture time that no longer applies (captured by hand, expired, ...).
        authorization.capture_due(payment, source=_acting(source), client=client, now=now)
        payment.refresh_from_db()
    if payment.status in CAPTURABLE:
        nexts.append(payment.capture_at)
        nexts.append(authorization.check_expiry(payment, source=_acting(source), client=client, now=now))
    if payment.status not in PAYMENT_PENDING or payment.cancel_requested_at is not None:
        # (A payment whose result is pending has no captures or refunds yet: nothing to look up.)
        nexts.append(followup.follow_up(payment, source=source, client=client, now=now).next_at)
    return earliest(*nexts)


def _acting(source: str) -> str:
    """Requests the background work sends on its own (capture, void) are SYSTEM's, or the sweep's."""
    return Source.SWEEP if source == Source.SWEEP else Source.SYSTEM


def _poll(
    payment: Payment, *, source: str, client: AntomClient | None, now: datetime, sweeping: bool
) -> tuple[Payment, datetime | None]:
    interval = seconds("POLL_INTERVAL")
    until = poll_until(payment)
    closes = session_closes_at(payment) if payment.status == P.PENDING else None
    recently = payment.last_inquiry_at is not None and payment.last_inquiry_at > now - interval / 2
    due = sweeping or now < until or (closes is not None and now >= closes)
    if due and not (recently and not sweeping):
        try:
            payment = sync_payment(payment, source=source, client=client)
        except AntomError as exc:  # unknown outcome: ask again next time
            logger.info("inquiryPayment %s: %s", payment.payment_request_id, type(exc).__name__)
    if payment.status not in PAYMENT_PENDING or sweeping:
        return payment, None
    if now + interval < until:
        return payment, now + interval
    if closes is not None and now < closes:
        return payment, closes  # one more look when the session closes, then the sweep's
    return payment, None


def _close_initiated(payment: Payment, source: str, client: AntomClient | None) -> Payment:
    """Cancel a payment whose createPaymentSession answer was lost (closed here if Antom has no such payment)."""
    try:
        return cancel(payment, source=_acting(source), client=client)
    except AntomError as exc:  # unknown: the cancel is in flight and followed up
        logger.info("cancel of %s (session answer lost): %s", payment.payment_request_id, type(exc).__name__)
    except (GatewayRefused, InvalidTransition) as exc:  # refused, or no longer cancellable: flag, never loop silently
        logger.warning("cancel of %s (session answer lost) refused: %s", payment.payment_request_id, exc)
        flag_once(payment, [f"The session answer was lost and the payment could not be closed: {exc}"], source)
    payment.refresh_from_db()
    return payment


def _flag_if_stuck(payment: Payment, source: str, now: datetime) -> None:
    window = seconds("FOLLOW_UP_WINDOW")
    if now - payment.created_at > window:
        hours = window.total_seconds() / 3600
        flag_once(payment, [f"No final result from Antom {hours:g} hours after the payment started."], source)


# -- the worker loop ------------------------------------------------------------------------------------------


def run_due(
    *,
    duration: float = 0.0,
    batch: int = 100,
    client: AntomClient | None = None,
    stop: Callable[[], bool] | None = None,
    threads: int = 1,
) -> Counter[str]:
    """Tend due payments: everything due now (``duration=0``), or keep at it for ``duration`` seconds,
    sleeping until the next due time in between. Returns counts: ``tended`` and ``errors``.

    ``threads`` > 1 tends with that many threads, each claiming its own share (``batch // threads``, at most
    :data:`CLAIM_SHARE`) with ``SKIP LOCKED`` as separate workers would: a poll mostly waits on Antom and the
    database, so threads overlap the waits. Each thread closes its database connection when the run ends.
    """
    deadline = time.monotonic() + duration
    if threads <= 1:
        return _work(deadline, batch, client, stop)
    counts: Counter[str] = Counter()
    guard = threading.Lock()
    # Small claims: a row is tended moments after it was read, so a notification landing meanwhile rarely
    # meets an inquiry it made needless.
    share = max(1, min(CLAIM_SHARE, batch // threads))

    def worker() -> None:
        try:
            done = _work(deadline, share, client, stop)
            with guard:
                counts.update(done)
        finally:
            connections.close_all()  # this thread's own

    pool = [threading.Thread(target=worker, name=f"antom-due-{i}", daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return counts


def _work(deadline: float, batch: int, client: AntomClient | None, stop: Callable[[], bool] | None) -> Counter[str]:
    counts: Counter[str] = Counter()
    drain = deadline <= time.monotonic()  # duration 0: everything due now, however much
    while not (stop is not None and stop()):
        taken = claim(batch)
        for payment in taken.payments:
            counts[_tend_claimed(payment, taken.until, client)] += 1
        left = deadline - time.monotonic()
        if len(taken.payments) == batch and (drain or left > 0):
            continue  # more may be due already
        if left <= 0:
            break  # a run lasts about ``duration`` even with more due: the next one takes over
        time.sleep(max(0.01, min(left, _until_next_due(), 0.25)))
    return counts


def _tend_claimed(payment: Payment, until: datetime, client: AntomClient | None) -> str:
    try:
        next_at = tend(payment, client=client)
    except Exception:
        # A bug or the database: the claim runs out and the payment comes back after the lease.
        logger.exception("antom background work failed for payment %s", payment.pk)
        close_old_connections()
        return "errors"
    release(payment.pk, until, next_at)
    return "tended"


def _until_next_due() -> float:
    soonest = Payment.objects.filter(next_check_at__isnull=False).aggregate(at=Min("next_check_at"))["at"]
    if soonest is None:
        return 3600.0
    return max(0.0, (soonest - timezone.now()).total_seconds())
