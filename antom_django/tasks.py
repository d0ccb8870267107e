"""Celery tasks (``pip install antom-django[celery]``): thin wrappers over the service layer."""

from __future__ import annotations

from celery import shared_task

from . import services
from .services import due
from .services.sweep import sweep as run_sweep


@shared_task(
    name="antom_django.apply_pending_notifications",
    acks_late=True,  # a worker killed mid-run leaves the message for another; applying twice changes nothing
    reject_on_worker_lost=True,
    ignore_result=False,
)
def apply_pending_notifications(limit: int = 500, include_errors: bool = False) -> dict[str, int]:
    """Apply stored notifications not applied yet; returns how many ended in each outcome.

    Run it from Celery beat. With ``NOTIFY_APPLY = "queue"`` every 5–10 seconds, as the only
    worker or as the safety net behind ``manage.py antom_apply_notifications --loop``; in inline
    mode every minute, as the sweep for anything a crash left unapplied (it only takes those
    last delivered more than ``NOTIFY_SWEEP_AFTER`` ago)::

        CELERY_BEAT_SCHEDULE = {
            "antom-apply-notifications": {
                "task": "antom_django.apply_pending_notifications",
                "schedule": 10.0,  # seconds; 60.0 in inline mode
            },
        }

    Each notification goes through the intake service, as ``POST notify/``'s do
    (:mod:`antom_django.services.intake`). A count under ``RETRY_LATER`` means the database failed
    mid-run; the next run picks up the rest.
    """
    return dict(services.apply_pending_notifications(limit=limit, include_errors=include_errors))


@shared_task(
    name="antom_django.process_due",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def process_due(seconds: float = 1.0, batch: int = 100, threads: int = 4) -> dict[str, int]:
    """Work the due queue (:mod:`antom_django.services.due`) for ``seconds``: result polling every
    ``POLL_INTERVAL``, automatic captures, the authorization-expiry policy, follow-ups of unknown outcomes.

    Beat sends it every second (:data:`antom_django.beat.BEAT_SCHEDULE`). Each run claims due payments with
    ``SKIP LOCKED`` and sleeps until the next due time in between, so one worker keeps the 2-second cadence and
    several share the work without taking the same payment. ``threads`` tend side by side (a poll mostly waits
    on Antom and the database), each with its own database connection for the run. Killed mid-run, it loses
    nothing: its claims run out and the payments come back to the next run (the schedule lives in the
    database, not in the message).
    """
    return dict(due.run_due(duration=seconds, batch=batch, threads=threads))


@shared_task(
    name="antom_django.sweep",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=False,
)
def sweep(limit: int = 500) -> dict[str, int]:
    """One sweep (:mod:`antom_django.services.sweep`); returns counts (``checked``, ``changed``, ...)."""
    return dict(run_sweep(limit=limit))
