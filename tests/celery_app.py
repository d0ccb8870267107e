"""A Celery app for the tests: the test settings, Redis db 11 as broker and db 12 for results."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

BROKER_URL = "redis://127.0.0.1:6379/11"
RESULT_URL = "redis://127.0.0.1:6379/12"

app = Celery("tests", broker=BROKER_URL, backend=RESULT_URL)
app.conf.update(broker_connection_retry_on_startup=True, task_default_queue="antom-tests")
app.autodiscover_tasks()  # finds antom_django.tasks through INSTALLED_APPS, as in a user's project
