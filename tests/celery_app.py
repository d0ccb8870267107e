"""A Celery app for the tests: the test settings, Redis db 11 as broker and db 12 for results.

The processes the background tests start read their broker, result backend and queue from the environment:
``ANTOM_TEST_BROKER_URL`` (``filesystem://`` with ``ANTOM_TEST_BROKER_FOLDER`` for Kombu's filesystem
transport), ``ANTOM_TEST_RESULT_URL`` (empty: none) and ``ANTOM_TEST_QUEUE``, where the beat entries of
:mod:`antom_django.beat` are sent too.
"""

from __future__ import annotations

import os

from celery import Celery

from antom_django.beat import beat_schedule

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

BROKER_URL = os.environ.get("ANTOM_TEST_BROKER_URL", "redis://127.0.0.1:6379/11")
RESULT_URL = os.environ.get("ANTOM_TEST_RESULT_URL", "redis://127.0.0.1:6379/12")
QUEUE = os.environ.get("ANTOM_TEST_QUEUE", "antom-tests")

app = Celery("tests", broker=BROKER_URL, backend=RESULT_URL or None)
app.conf.update(
    broker_connection_retry_on_startup=True,
    task_default_queue=QUEUE,
    beat_schedule=beat_schedule(queue=QUEUE),
    # One message at a time per worker: with acks_late a solo worker would otherwise hold several, and a second
    # worker could find nothing to race for.
    worker_prefetch_multiplier=1,
)
if folder := os.environ.get("ANTOM_TEST_BROKER_FOLDER"):
    # Kombu's filesystem transport: a message is a file; producers and consumers share one folder. Its exchange
    # table goes to "control_folder", which is "control/" in the working directory unless set.
    app.conf.broker_transport_options = {
        "data_folder_in": folder,
        "data_folder_out": folder,
        "control_folder": os.path.join(folder, "control"),
    }
app.autodiscover_tasks()  # finds antom_django.tasks through INSTALLED_APPS, as in a user's project
