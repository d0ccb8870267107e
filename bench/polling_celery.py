"""The Celery app of bench/polling.py's worker: ``celery -A bench.polling_celery worker``."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.polling_site")

app = Celery("antom_bench_polling")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
