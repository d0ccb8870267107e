"""The beat schedule users include in one line, and the tasks it names."""

from __future__ import annotations

import subprocess
import sys

from antom_django import tasks
from antom_django.beat import BEAT_SCHEDULE, beat_schedule
from tests.celery_app import app


def test_every_entry_names_a_registered_task_and_expires_within_its_period() -> None:
    assert set(BEAT_SCHEDULE) == {"antom-process-due", "antom-sweep", "antom-apply-notifications"}
    for entry in BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks
        assert 0 < entry["options"]["expires"] <= 2 * entry["schedule"]
    assert BEAT_SCHEDULE["antom-process-due"]["kwargs"] == {"seconds": BEAT_SCHEDULE["antom-process-due"]["schedule"]}


def test_the_tasks_are_acknowledged_after_they_ran() -> None:
    for task in (tasks.process_due, tasks.sweep):
        assert (task.acks_late, task.reject_on_worker_lost) == (True, True)
    assert tasks.process_due.name == "antom_django.process_due"
    assert tasks.sweep.name == "antom_django.sweep"


def test_a_queue_of_your_own() -> None:
    routed = beat_schedule(queue="antom")
    assert {entry["options"]["queue"] for entry in routed.values()} == {"antom"}
    assert all("queue" not in entry["options"] for entry in BEAT_SCHEDULE.values())


def test_settings_can_import_it_before_django_is_set_up() -> None:
    code = "import sys; from antom_django.beat import BEAT_SCHEDULE; assert 'django.apps' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": "."})
