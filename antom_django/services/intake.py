"""Notification intake: store the raw message once, apply it now or leave it for a worker, record failures.

The one path every caller takes: ``POST notify/`` calls :func:`receive`; the queue's drain (the worker
command, the Celery task, the inline mode's sweep) takes each stored row with :func:`apply_next`. The
inline/queue decision is made here, and so is the failure rule: a failure of our own database that may
pass (``OperationalError``, ``InterfaceError``) leaves the row as it was, for a retry (``RETRY_LATER``);
any other exception marks it ``ERROR`` with the reason (:func:`~.notifications.mark_error`).

Storage is bounded under replay: a verified body is stored once, keyed by its SHA-256 (``fingerprint``),
and each further delivery of the same bytes only adds to ``received_count`` and moves ``last_received_at``,
in the same single statement that would have inserted it. A copy with other bytes but the same meaning
(the same dedupe key) is folded into the applied row once it is applied (:mod:`.notifications`).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError, router
from django.db.models import QuerySet
from django.utils import timezone

from ..conf import antom_settings
from ..models import Notification
from .context import atomic
from .notifications import PENDING, apply_notification, mark_error
from .rows import Upsert, insert_values

logger = logging.getLogger("antom_django.notify")
Outcome = Notification.Outcome

CHANNEL = "antom_notifications"
"""PostgreSQL ``LISTEN`` channel announced in the INSERT of each queued notification."""

RETRY_LATER = "RETRY_LATER"
"""The outcome of an attempt stopped by a failure of our own database; the row is left as it was."""

TRANSIENT = (OperationalError, InterfaceError)
"""Failures of our own database that may pass (unreachable, deadlock): retry, never mark ERROR."""

_REPEAT = Upsert(
    unique="fingerprint",
    assignments=(
        ("received_count", "{table}.received_count + 1"),
        ("last_received_at", "EXCLUDED.last_received_at"),
        # Antom sending a failed message again asks for it to be applied again (inline: now; queue: by a worker).
        (
            "outcome",
            f"CASE WHEN {{table}}.outcome = '{Outcome.ERROR}' THEN '{Outcome.RECEIVED}' ELSE {{table}}.outcome END",
        ),
        # A row stored before signatures were kept (migration 0009) takes this delivery's verified signature and
        # what it covered, all four together, so a replay can verify it; a row that has one keeps its own.
        *(
            (name, f"CASE WHEN {{table}}.signature = '' THEN EXCLUDED.{name} ELSE {{table}}.{name} END")
            for name in ("signature", "signed_path", "client_id", "request_time")
        ),
    ),
    returning=("outcome", "received_count"),
    announce_when=f"{{table}}.outcome = '{Outcome.RECEIVED}'",
)


def queue_mode() -> bool:
    """True when ``POST notify/`` acknowledges on storing and leaves applying to a worker."""
    return bool(antom_settings.NOTIFY_APPLY == "queue")


@dataclass(frozen=True)
class Intake:
    """What became of one notification this time: its row, the outcome, and the failure if there was one.

    ``outcome`` is a :class:`Notification.Outcome`, or :data:`RETRY_LATER`; ``notification`` is ``None``
    only when nothing could be stored or read (the database failed first).
    """

    notification: Notification | None
    outcome: str
    error: BaseException | None = None

    @property
    def acknowledge(self) -> bool:
        """Antom may stop sending it: stored (queue mode), applied, or a repeat of a handled one."""
        return self.error is None

    @property
    def temporary(self) -> bool:
        """It failed in our own database: a retry may succeed (``POST notify/`` answers 503, else 500)."""
        return isinstance(self.error, DatabaseError)


def fingerprint(body: str) -> str:
    """What a replay of the same bytes collides with: the SHA-256 of the body, hex."""
    return hashlib.sha256(body.encode()).hexdigest()


def store(
    body: str,
    data: dict[str, Any],
    *,
    client_id: str = "",
    request_time: str = "",
    signature: str = "",
    signed_path: str = "",
    remote_addr: str | None = None,
    announce: bool = False,
) -> Notification:
    """Save a verified notification raw, in its own commit (autocommit), before anything applies it — or,
    when these bytes are stored already, count the delivery on that row. One statement either way.

    The returned instance is not read back: it has this delivery's values, and the stored row's primary key,
    outcome (a repeat of a handled message is not ``RECEIVED``) and ``received_count``. ``announce`` tells queue workers
    listening on PostgreSQL that the row is there to apply, in the same statement. ``signature`` (the header) and
    ``signed_path`` are kept, untruncated, with ``client_id`` and ``request_time`` so that a replay can verify the
    RSA signature again (:mod:`.replay`).
    """
    notify_type = data.get("notifyType")
    now = timezone.now()
    values: dict[str, Any] = {
        "body": body,
        # Printable only: a signed notifyType with NUL or a lone surrogate cannot be stored (it is held for review).
        "notify_type": notify_type[:32] if isinstance(notify_type, str) and notify_type.isprintable() else "",
        "client_id": client_id[:128],
        "request_time": request_time[:64],
        "signature": signature,
        "signed_path": signed_path,
        "signature_verified": True,
        "outcome": Outcome.RECEIVED,
        "error": "",
        "remote_addr": remote_addr,
        "fingerprint": fingerprint(body),
        "received_count": 1,
        "created_at": now,
        "last_received_at": now,
    }
    pk, outcome, count = insert_values(Notification, values, announce=CHANNEL if announce else "", upsert=_REPEAT)
    notification = Notification(pk=pk, **{**values, "outcome": outcome, "received_count": count})
    notification._state.adding = False
    notification._state.db = router.db_for_write(Notification)
    return notification


def receive(
    body: str,
    data: dict[str, Any],
    *,
    client_id: str = "",
    request_time: str = "",
    signature: str = "",
    signed_path: str = "",
    remote_addr: str | None = None,
) -> Intake:
    """Take one verified notification (its raw body and that body parsed): store it, then apply it now
    (``NOTIFY_APPLY = "inline"``) or leave it for a worker (``"queue"``). ``signature`` and ``signed_path``
    (the header and the request path it covered) are stored for a later replay's check.

    A delivery of bytes already stored is counted on their row; if that row is still to be applied
    (``RECEIVED``, or ``ERROR`` and so asked for again) it is applied afresh inline, or left for a worker.
    A repeat of a handled one (applied, ignored, ...) changes nothing else. Concurrent deliveries of the
    same bytes wait for each other on the payment's row lock and the first applies it; the others find it
    applied (DUPLICATE). The sweep leaves a row alone for ``NOTIFY_SWEEP_AFTER`` after each delivery, so it
    seldom holds a row a view is applying; if it does, one of the two waits for the other or, at worst,
    PostgreSQL breaks the deadlock and that one retries (503, or ``RETRY_LATER``).
    """
    queued = queue_mode()
    try:
        notification = store(
            body,
            data,
            client_id=client_id,
            request_time=request_time,
            signature=signature,
            signed_path=signed_path,
            remote_addr=remote_addr,
            announce=queued,
        )
    except DatabaseError as exc:
        logger.exception("antom notify: cannot store the notification; Antom will retry")
        return Intake(None, RETRY_LATER, exc)
    if queued or notification.outcome not in PENDING:
        return Intake(notification, notification.outcome)
    return apply(notification, data)


def apply(notification: Notification, data: dict[str, Any] | None = None) -> Intake:
    """Apply a stored notification (``data``: its body already parsed) with the failure rule."""
    try:
        outcome = apply_notification(notification, data)
    except Exception as exc:
        return _failed(notification, exc)
    return _done(notification, outcome)


def apply_next(rows: QuerySet[Notification]) -> Intake | None:
    """Apply the first of ``rows`` that no one else holds (``SKIP LOCKED``), in the transaction that locked
    it; ``None`` when there is none. A worker killed mid-way leaves the row as it was, for the next."""
    notification: Notification | None = None
    try:
        with atomic():
            notification = rows.select_for_update(skip_locked=True).first()
            if notification is None:
                return None
            outcome = apply_notification(notification)
    except Exception as exc:
        if notification is None and not isinstance(exc, TRANSIENT):
            raise
        return _failed(notification, exc)
    return _done(notification, outcome)


def _done(notification: Notification, outcome: str) -> Intake:
    if outcome == Outcome.UNKNOWN_PAYMENT:
        logger.warning("antom notify %s: no such payment here; kept for reconciliation", notification.pk)
    return Intake(notification, outcome)


def _failed(notification: Notification | None, exc: Exception) -> Intake:
    """The failure rule, once for every caller (the transaction that failed is rolled back already)."""
    if isinstance(exc, TRANSIENT):
        pk = notification.pk if notification is not None else None
        logger.warning("antom notify: database unavailable; notification %s left for a retry", pk, exc_info=True)
        return Intake(notification, RETRY_LATER, exc)
    assert notification is not None
    logger.exception("antom notify: applying notification %s failed; kept as ERROR", notification.pk)
    mark_error(notification, exc)
    return Intake(notification, Outcome.ERROR, exc)
