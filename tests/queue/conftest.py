"""Workers as real processes against the test database: starting, watching and always stopping them."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from antom_django.models import Notification, Payment
from antom_django.services import intake
from tests.api.conftest import make_payment
from tests.api.helpers import CLIENT_ID, encode, fixture, now_ms
from tests.processes import LoggedProcess

ROOT = Path(__file__).resolve().parents[2]
MANAGE = [sys.executable, str(ROOT / "manage.py"), "antom_apply_notifications"]


def store(payload: dict[str, Any] | None = None, *, indent: int | None = None, **fields: Any) -> Notification:
    """A verified notification stored raw by the intake service, as ``POST notify/`` stores it, and not applied
    yet (the guide's PAYMENT_RESULT by default); the same bytes again are counted on that row. ``indent``
    writes the same message in other bytes; ``fields`` are then set on the row (``outcome=ERROR`` ...)."""
    payload = payload if payload is not None else fixture("notifyPayment_success")
    body = encode(payload).decode() if indent is None else json.dumps(payload, indent=indent)
    notification = intake.store(body, payload, client_id=CLIENT_ID, request_time=now_ms())
    if fields:
        Notification.objects.filter(pk=notification.pk).update(**fields)
        notification.refresh_from_db()
    return notification


def age(notification: Notification, seconds: float) -> None:
    """Its latest delivery was ``seconds`` ago (what the inline mode's sweep waits for)."""
    when = timezone.now() - timedelta(seconds=seconds)
    Notification.objects.filter(pk=notification.pk).update(created_at=when, last_received_at=when)


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, output: Callable[[], str] = str) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}\n--- worker output ---\n{output()}")
        time.sleep(0.05)


def database_url() -> str:
    """A URL for the database this test runs on (pytest-django's test database), for subprocesses."""
    s = connection.settings_dict
    host, port = s["HOST"] or "127.0.0.1", s["PORT"] or 5432
    password = f":{s['PASSWORD']}" if s["PASSWORD"] else ""
    return f"postgres://{s['USER']}{password}@{host}:{port}/{s['NAME']}"


def backends(where: str, *params: Any) -> list[tuple[Any, ...]]:
    """Other sessions on the test database matching ``where`` (SQL on pg_stat_activity): (pid, state, query)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, state, query FROM pg_stat_activity "
            f"WHERE datname = current_database() AND pid <> pg_backend_pid() AND ({where})",
            params,
        )
        return list(cursor.fetchall())


Worker = LoggedProcess
"""A worker process (``manage.py antom_apply_notifications`` or a Celery worker)."""


@pytest.fixture
def pending_payment(db: None) -> Payment:
    """The payment the guide's sample PAYMENT_RESULT notification is about."""
    return make_payment()


@pytest.fixture
def postgres(transactional_db: None) -> None:
    """Subprocesses see only committed rows, in a real server's database."""
    if connection.vendor != "postgresql":
        pytest.skip("worker processes share the test database: needs PostgreSQL (ANTOM_TEST_DATABASE_URL)")


@pytest.fixture
def worker_env(postgres: None) -> dict[str, str]:
    return {**os.environ, "ANTOM_TEST_DATABASE_URL": database_url(), "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def workers(tmp_path: Path, worker_env: dict[str, str]) -> Iterator[Callable[..., Worker]]:
    """``start(*args, env=...)`` runs a command (``manage.py antom_apply_notifications`` by default); every
    process started is stopped (SIGTERM, then SIGKILL) when the test ends, and its output printed."""
    started: list[Worker] = []

    def start(*args: str, command: list[str] | None = None, env: dict[str, str] | None = None) -> Worker:
        worker = Worker([*(command or MANAGE), *args], env or worker_env, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
        print(f"--- {' '.join(worker.command)} (exit {worker.process.returncode}) ---")
        print(worker.output())
