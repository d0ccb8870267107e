"""Celery tasks (``pip install antom-django[celery]``): thin wrappers over the service layer."""

from __future__ import annotations

from celery import shared_task

from . import services


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
