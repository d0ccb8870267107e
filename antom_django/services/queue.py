"""Stored notifications not applied yet: the worker side of ``NOTIFY_APPLY = "queue"``, and the sweep.

In queue mode ``POST notify/`` acknowledges once the raw message is committed (outcome RECEIVED) and a
worker applies it here. In inline mode the view applies it itself, and this only sweeps up what a crash
left RECEIVED (older than ``NOTIFY_SWEEP_AFTER``). Each notification is taken and applied by the intake
service (:mod:`antom_django.services.intake`), in its own transaction holding its row lock, taken with
``SKIP LOCKED``: several workers drain side by side without waiting on each other, a worker killed mid-way
leaves the row RECEIVED for the next one, and applying twice changes nothing (the dedupe key).
"""

from __future__ import annotations

import inspect
import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models import QuerySet
from django.utils import timezone

from ..conf import antom_settings
from ..models import Notification
from .intake import CHANNEL, RETRY_LATER, TRANSIENT, apply_next, queue_mode

__all__ = ["CHANNEL", "RETRY_LATER", "TRANSIENT", "Listener", "apply_pending_notifications", "pending", "queue_mode"]

logger = logging.getLogger("antom_django.queue")
Outcome = Notification.Outcome


def pending(*, min_age: float = 0.0, outcome: str = Outcome.RECEIVED) -> QuerySet[Notification]:
    """Verified notifications still to apply (or, with ``outcome=ERROR``, that failed), oldest first.

    ``min_age`` counts from the latest delivery: a row Antom has just sent again may be in a view's hands."""
    rows = Notification.objects.filter(outcome=outcome, signature_verified=True)
    if min_age > 0:
        rows = rows.filter(last_received_at__lte=timezone.now() - timedelta(seconds=min_age))
    return rows.order_by("pk")


def apply_pending_notifications(
    *,
    limit: int = 500,
    min_age: float | None = None,
    include_errors: bool = False,
    stop: Callable[[], bool] | None = None,
) -> Counter[str]:
    """Apply up to ``limit`` stored notifications, oldest first; returns how many ended in each outcome.

    ``min_age`` (seconds since the latest delivery) defaults to 0 in queue mode and to ``NOTIFY_SWEEP_AFTER``
    in inline mode, so the sweep never races the view that is applying a notification it just stored.
    Each row goes through the intake service (:func:`~antom_django.services.intake.apply_next`): a failure of
    our own (database unreachable, deadlock) ends the run and leaves the notification as it was for the next
    one (counted as ``RETRY_LATER``); any other error marks it ERROR, keeps the reason on the row and goes on
    with the next. ``include_errors`` retries ERROR rows once every RECEIVED one is done (so failing rows
    never starve new ones). ``stop`` is asked before each notification; True ends the run there (a worker's
    SIGTERM).
    """
    if min_age is None:
        min_age = 0.0 if queue_mode() else float(antom_settings.NOTIFY_SWEEP_AFTER)
    done: Counter[str] = Counter()
    failed: set[int] = set()  # tried in this run already: an ERROR row is not picked twice
    phases = [Outcome.RECEIVED, Outcome.ERROR] if include_errors else [Outcome.RECEIVED]
    while phases and done.total() < limit and not (stop is not None and stop()):
        result = apply_next(pending(min_age=min_age, outcome=phases[0]).exclude(pk__in=failed))
        if result is None:  # this phase is done: RECEIVED, then (include_errors) ERROR
            phases.pop(0)
            continue
        done[result.outcome] += 1
        if result.outcome == RETRY_LATER:
            break
        if result.outcome == Outcome.ERROR and result.notification is not None:
            failed.add(result.notification.pk)
    return done


class Listener:
    """Waits for queued notifications: ``LISTEN`` on PostgreSQL with psycopg ≥ 3.2, a plain sleep elsewhere.

    A wake-up only says "look now"; the caller always drains what is pending, so a missed or merged
    announcement costs at most one ``timeout`` of delay, never a notification.
    """

    def __init__(self, alias: str = DEFAULT_DB_ALIAS) -> None:
        self.alias = alias
        self._listening_on: Any = None

    def _raw(self) -> Any:
        """The psycopg 3 connection to listen on, or ``None`` where waits must sleep instead."""
        connection = connections[self.alias]
        if connection.vendor != "postgresql":
            return None
        connection.ensure_connection()
        raw = connection.connection
        notifies = getattr(raw, "notifies", None)  # a method on psycopg 3; a list on psycopg2
        try:
            accepts_timeout = callable(notifies) and "timeout" in inspect.signature(notifies).parameters
        except (TypeError, ValueError):
            accepts_timeout = False
        return raw if accepts_timeout else None  # psycopg 3.2 added notifies(timeout=...)

    @property
    def listens(self) -> bool:
        """Whether waits end as soon as a notification is announced (else they sleep out ``timeout``)."""
        try:
            return self._raw() is not None
        except (DatabaseError, AttributeError):
            return False

    def wait(self, timeout: float) -> bool:
        """Block until a notification is announced or ``timeout`` seconds pass; True if one was."""
        try:
            raw = self._raw()
        except (DatabaseError, AttributeError):
            raw = None
        if raw is None:
            time.sleep(timeout)
            return False
        try:
            if raw is not self._listening_on:  # a new connection (first call, or after a reconnect)
                with connections[self.alias].cursor() as cursor:
                    cursor.execute(f"LISTEN {CHANNEL}")
                self._listening_on = raw
            return any(True for _ in raw.notifies(timeout=timeout, stop_after=1))
        except Exception:  # the connection broke while waiting: reconnect on the next call
            connections[self.alias].close()
            self._listening_on = None
            logger.warning("antom queue: lost the LISTEN connection; reconnecting", exc_info=True)
            return False
