"""``manage.py antom_sweep``: one sweep of everything unsettled, for cron (Celery users schedule the task)."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand

from antom_django.services.sweep import sweep


class Command(BaseCommand):
    help = (
        "Apply stored notifications left unapplied, send the signals a dead process left unsent, then ask Antom about every unsettled payment nobody heard "
        "of for SWEEP_INTERVAL (pending results, unknown capture/refund/cancel outcomes, due captures, expiring "
        "authorizations). Run it from cron every few minutes when Celery beat does not run antom_django.sweep."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--limit", type=int, default=500, help="At most this many payments (default 500).")

    def handle(self, *args: Any, limit: int, **options: Any) -> None:
        counts = sweep(limit=limit)
        self.stdout.write(
            f"antom sweep: {counts['notifications']} notifications applied, {counts['signals']} events' signals sent, "
            f"{counts['checked']} payments checked, {counts['changed']} changed, {counts['errors']} errors"
        )
