"""Refused notifications: stored truncated and bounded in number, logged at a bounded rate.

Accepted ones are stored by the intake service (:mod:`antom_django.services.intake`).
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
import threading
import time

from django.db import DatabaseError
from django.http import HttpRequest
from django.utils import timezone

from ..conf import antom_settings
from .notify import NotifyRejected, peek_body

logger = logging.getLogger("antom_django.notify")

PRUNE_EVERY = 50
"""Rejected rows are pruned back to ``NOTIFY_REJECTED_KEEP`` once per this many stored (per process)."""

_rejected_counter = itertools.count(1)
_prune_lock = threading.Lock()


def _text(value: bytes | str, limit: int) -> str:
    text = value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value
    # PostgreSQL text cannot hold NUL; an attacker's body may.
    return text[:limit].replace("\x00", "\ufffd")


def remote_addr(request: HttpRequest) -> str | None:
    """The peer's address as Django sees it (``REMOTE_ADDR``), if it is one."""
    try:
        return str(ipaddress.ip_address(request.META.get("REMOTE_ADDR") or ""))
    except ValueError:
        return None


class RateLimitedLog:
    """At most one log line per ``every`` seconds per process, with a count of the ones left out.

    Refused requests are logged, but an attacker must not fill the disk with log lines either.
    """

    def __init__(self, every: float = 10.0) -> None:
        self.every = every
        self._next = 0.0
        self._skipped = 0
        self._lock = threading.Lock()

    def warning(self, message: str, *args: object) -> None:
        now = time.monotonic()
        with self._lock:
            if now < self._next:
                self._skipped += 1
                return
            skipped, self._skipped, self._next = self._skipped, 0, now + self.every
        suffix = f" ({skipped} more refused since the last line)" if skipped else ""
        logger.warning(message + suffix, *args)


rejections_log = RateLimitedLog()


def store_rejected(request: HttpRequest, rejected: NotifyRejected) -> None:
    """Keep a refused request for forensics without letting anyone fill the disk with them.

    The body is cut to ``NOTIFY_REJECTED_BODY_BYTES`` and only the newest
    ``NOTIFY_REJECTED_KEEP`` rejected rows survive pruning. Failing to store is
    logged, never raised: the caller's answer does not depend on it.
    """
    from ..models import Notification

    limit = int(antom_settings.NOTIFY_REJECTED_BODY_BYTES)
    try:
        Notification.objects.create(
            body=_text(peek_body(request)[: limit * 4], limit),
            notify_type="",
            client_id=_text(request.headers.get("client-id") or "", 64),
            request_time=_text(request.headers.get("request-time") or "", 64),
            signature_verified=rejected.verified,
            outcome=Notification.Outcome.REJECTED,
            error=_text(f"{rejected.code}: {rejected.message}", 500),  # the message may quote a header
            remote_addr=remote_addr(request),
            processed_at=timezone.now(),
        )
    except DatabaseError:
        logger.warning("antom notify: could not store a rejected request (%s)", rejected.code, exc_info=True)
        return
    if next(_rejected_counter) % PRUNE_EVERY == 0:
        prune_rejected()


def prune_rejected(keep: int | None = None) -> int:
    """Delete all but the newest ``keep`` rejected rows; returns how many went."""
    from ..models import Notification

    keep = int(antom_settings.NOTIFY_REJECTED_KEEP) if keep is None else keep
    if not _prune_lock.acquire(blocking=False):
        return 0
    try:
        rejected = Notification.objects.filter(outcome=Notification.Outcome.REJECTED)
        boundary = rejected.order_by("-pk").values_list("pk", flat=True)[keep : keep + 1]
        pivot = next(iter(boundary), None)
        if pivot is None:
            return 0
        deleted, _ = rejected.filter(pk__lte=pivot).delete()
        return deleted
    except DatabaseError:
        logger.warning("antom notify: could not prune rejected notifications", exc_info=True)
        return 0
    finally:
        _prune_lock.release()
