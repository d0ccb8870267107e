"""The shop's Celery app: ``celery -A shopsite worker -B -P solo`` (cwd ``example_project/``)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopsite.settings")

app = Celery("shopsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()  # antom_django.tasks, found through INSTALLED_APPS

# Kombu's filesystem transport expects its folders to exist, and beat its schedule file's folder (whatever the
# broker: with Redis, beat on a fresh checkout failed with FileNotFoundError).
for folder in (
    app.conf.broker_transport_options.get("control_folder"),
    os.path.dirname(app.conf.beat_schedule_filename),
):
    if folder:
        os.makedirs(folder, exist_ok=True)
