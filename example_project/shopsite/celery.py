"""The shop's Celery app: ``celery -A shopsite worker -B -P solo`` (cwd ``example_project/``)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopsite.settings")

app = Celery("shopsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()  # antom_django.tasks, found through INSTALLED_APPS

if folder := app.conf.broker_transport_options.get("control_folder"):
    # Kombu's filesystem transport expects its folders to exist.
    os.makedirs(folder, exist_ok=True)
