"""Settings of bench/chaos.py's processes: the example shop (``example_project/shopsite/settings.py``, configured
through its own environment contract) with four changes for the run.

- the merchant and "Antom" keys are the test vectors' (the simulator bench/chaos.py starts trusts them), so no
  key files are written;
- the adapter is :class:`bench.chaos_adapter.ChaosAdapter` (the shop's, with a per-payment ``capture_delay``);
- short intervals and client timeouts, so that a run takes minutes: polling every second, the sweep every few
  seconds, a read timeout the simulator's injected latency exceeds;
- every antom_django signal a process sends is appended to ``ANTOM_TEST_SIGNALS`` (the background tests'
  recorder), and Celery uses the run's own queue ``ANTOM_CHAOS_QUEUE``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "example_project"), str(ROOT)]

from shopsite.settings import *  # noqa: E402, F403 - the shop, with the changes below
from shopsite.settings import ANTOM, CELERY_BEAT_SCHEDULE, INSTALLED_APPS, LOGGING  # noqa: E402
from tests.settings import VECTORS  # noqa: E402

CLIENT_TIMEOUT = 2.0
"""Seconds the client waits for an answer; the simulator's injected latency is longer (a timeout)."""

INSTALLED_APPS = [*INSTALLED_APPS, "tests.background.recorder.RecorderConfig"]

ANTOM = {
    **{k: v for k, v in ANTOM.items() if k not in ("PRIVATE_KEY_FILE", "ANTOM_PUBLIC_KEY_FILE")},
    "CLIENT_ID": VECTORS["client_id"],
    "PRIVATE_KEY": VECTORS["merchant_private_key"],
    "ANTOM_PUBLIC_KEY": VECTORS["antom_public_key"],
    "ADAPTER": "bench.chaos_adapter.ChaosAdapter",
    "POLL_INTERVAL": 1.0,
    "SWEEP_INTERVAL": 5.0,
    "NOTIFY_SWEEP_AFTER": 5.0,
    "SIGNAL_RESEND_AFTER": 5.0,
    "READ_TIMEOUT": CLIENT_TIMEOUT,
    "CONNECT_TIMEOUT": CLIENT_TIMEOUT,
    "MAX_RETRIES": 1,
    "RETRY_BACKOFF": 0.2,
}

CELERY_TASK_DEFAULT_QUEUE = os.environ.get("ANTOM_CHAOS_QUEUE", "antom-chaos")
CELERY_BEAT_SCHEDULE = {
    **CELERY_BEAT_SCHEDULE,
    "antom-sweep": {**CELERY_BEAT_SCHEDULE["antom-sweep"], "schedule": 3.0, "options": {"expires": 3.0}},
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

LOGGING = {  # the shop's, quieter
    **LOGGING,
    "loggers": {
        name: {**logger, "level": "WARNING", "propagate": False} for name, logger in LOGGING["loggers"].items()
    },
}
