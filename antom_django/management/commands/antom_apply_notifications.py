"""``manage.py antom_apply_notifications``: apply stored notifications once (cron), or as a long-running worker.

Each notification goes through the intake service, as ``POST notify/``'s do (:mod:`antom_django.services.intake`).
"""

from __future__ import annotations

import argparse
import logging
import math
import signal
import time
from collections import Counter
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections

from antom_django import services
from antom_django.models import Notification
from antom_django.services.intake import RETRY_LATER
from antom_django.services.queue import CHANNEL, Listener

logger = logging.getLogger("antom_django.queue")
Outcome = Notification.Outcome

SLICE = 1.0
"""Longest uninterrupted wait, so a stop request is noticed within about a second."""
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 30.0


def summary(counts: Counter[str]) -> str:
    """``3 notifications processed (APPLIED=2, DUPLICATE=1)``; RETRY_LATER is named but not counted."""
    processed = sum(n for outcome, n in counts.items() if outcome != RETRY_LATER)
    parts = ", ".join(f"{outcome}={n}" for outcome, n in sorted(counts.items()))
    return f"{processed} notification{'' if processed == 1 else 's'} processed" + (f" ({parts})" if parts else "")


class StopRequest:
    """SIGTERM/SIGINT handler: the first asks the loop to stop after the notification in hand, a second stops
    at once."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            # The transaction in hand rolls back: its notification stays RECEIVED for the next worker.
            raise SystemExit(128 + signum)
        self.requested = True

    def __enter__(self) -> StopRequest:
        for signum in self.SIGNALS:
            self._previous[signum] = signal.signal(signum, self)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def sleep(self, seconds: float, waiter: Listener | None = None) -> bool:
        """Wait up to ``seconds`` in slices, ending early on a stop request; given ``waiter``, also on an
        announcement or a lost connection (True: run now)."""
        deadline = time.monotonic() + seconds
        while not self.requested:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if waiter is None:
                time.sleep(min(left, SLICE))
            elif waiter.wait(min(left, SLICE)):
                return True
            elif connections[waiter.alias].connection is None:
                # Announcements were missed while it was down: look now (a failed run backs off).
                return True
        return False


class Command(BaseCommand):
    help = (
        "Apply stored Antom notifications not applied yet (NOTIFY_APPLY = 'queue', or the inline mode's sweep). "
        "Once and exit (status 1 if the database was unavailable), or with --loop as a long-running worker that "
        "wakes on PostgreSQL LISTEN/NOTIFY and stops cleanly on SIGTERM."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--loop", action="store_true", help="keep running: drain, wait for the next, repeat")
        parser.add_argument("--limit", type=int, default=500, help="most notifications per run (default 500)")
        parser.add_argument(
            "--min-age",
            type=float,
            default=None,
            help="only those last delivered at least this many seconds ago (default: 0 in queue mode, "
            "NOTIFY_SWEEP_AFTER in inline mode)",
        )
        parser.add_argument("--include-errors", action="store_true", help="also retry notifications marked ERROR")
        parser.add_argument(
            "--interval",
            type=float,
            default=5.0,
            help="with --loop: longest wait between runs in seconds (default 5; a LISTEN wake-up ends it early)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        limit, min_age, interval = options["limit"], options["min_age"], options["interval"]
        if limit < 1:
            raise CommandError("--limit must be a positive whole number")
        if min_age is not None and not (math.isfinite(min_age) and min_age >= 0):
            raise CommandError("--min-age must be a number of seconds, 0 or more")
        if not (math.isfinite(interval) and interval > 0):
            raise CommandError("--interval must be a positive number of seconds")
        run = {"limit": limit, "min_age": min_age, "include_errors": options["include_errors"]}
        if options["loop"]:
            self.loop(run, interval)
            return
        counts = services.apply_pending_notifications(**run)
        self.stdout.write(summary(counts))
        if counts[RETRY_LATER]:
            raise CommandError("database unavailable; the rest is left for the next run", returncode=1)

    def loop(self, run: dict[str, Any], interval: float) -> None:
        """Drain (again at once while runs hit ``--limit``), wait for an announcement or ``interval``, repeat."""
        listener = Listener()
        if listener.listens:
            self.stdout.write(
                f"Applying Antom notifications: LISTEN {CHANNEL}, and a run at least every {interval:g}s."
            )
        else:
            self.stdout.write(
                f"Applying Antom notifications: polling every {interval:g}s (no LISTEN on this database)."
            )
        backoff = 0.0
        with StopRequest() as stop:
            while not stop.requested:
                try:
                    counts = services.apply_pending_notifications(**run, stop=lambda: stop.requested)
                except DatabaseError:  # not an outage the service recognised (e.g. missing table): keep going
                    logger.exception("antom queue: run failed")
                    counts = Counter({RETRY_LATER: 1})
                if counts:
                    logger.info("antom queue: %s", summary(counts))
                if counts[RETRY_LATER]:
                    backoff = min(backoff * 2, BACKOFF_MAX) if backoff else BACKOFF_FIRST
                    connections.close_all()  # the next run reconnects
                    stop.sleep(backoff)
                    continue
                backoff = 0.0
                if counts.total() >= run["limit"] and counts[Outcome.ERROR] < counts.total():
                    continue  # more may be waiting (but a run of nothing but failures waits: no busy loop)
                try:
                    stop.sleep(interval, listener)
                except DatabaseError:
                    logger.warning("antom queue: waiting failed; running now", exc_info=True)
                    connections.close_all()
        self.stdout.write("Stopped.")
