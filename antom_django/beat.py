"""The Celery beat entries of the background work: one line in your settings.

Import-safe from ``settings.py`` (it imports nothing of Django's)::

    from antom_django.beat import BEAT_SCHEDULE as ANTOM_BEAT_SCHEDULE

    CELERY_BEAT_SCHEDULE = {**ANTOM_BEAT_SCHEDULE}   # plus your own entries

or ``beat_schedule(queue="antom")`` to send them to a queue of your own. Every entry is a short task whose
work lives in the database, so a tick that waited in the broker longer than its period is dropped (``expires``)
rather than piled up behind a slow worker.
"""

from __future__ import annotations

from typing import Any

TICK = 1.0
"""Seconds between ``process_due`` runs; each run works the due queue for this long."""
SWEEP_EVERY = 60.0
"""Seconds between sweeps; each takes only payments quiet for ``ANTOM["SWEEP_INTERVAL"]``."""
NOTIFICATIONS_EVERY = 5.0
"""Seconds between runs of ``apply_pending_notifications`` (the worker in queue mode, the safety net inline)."""


def beat_schedule(*, queue: str | None = None) -> dict[str, dict[str, Any]]:
    """The entries, optionally routed to ``queue``."""
    routed: dict[str, Any] = {"queue": queue} if queue else {}
    return {
        "antom-process-due": {
            "task": "antom_django.process_due",
            "schedule": TICK,
            "kwargs": {"seconds": TICK},
            "options": {**routed, "expires": 2 * TICK},
        },
        "antom-sweep": {
            "task": "antom_django.sweep",
            "schedule": SWEEP_EVERY,
            "options": {**routed, "expires": SWEEP_EVERY},
        },
        "antom-apply-notifications": {
            "task": "antom_django.apply_pending_notifications",
            "schedule": NOTIFICATIONS_EVERY,
            "options": {**routed, "expires": NOTIFICATIONS_EVERY},
        },
    }


BEAT_SCHEDULE = beat_schedule()
