"""The background work for real: Celery workers and beat as processes, the simulator over HTTP, a live shop.

The :func:`background` fixture gives a :class:`Background`: settings shared by the test process (where the live
server applies Antom's notifications) and every process it starts, payments paid at the simulator, a log of the
API calls the simulator received, the signals every process sent, and workers fed on a queue of the test's own.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from wsgiref.simple_server import make_server

import pytest
from celery.result import AsyncResult
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.db import connection
from django.test.utils import override_settings

from antom_django import services
from antom_django.client import Amount
from antom_django.conf import antom_settings
from antom_django.models import Payment
from antom_django.sandbox import SandboxServer
from antom_django.sandbox.faults import FAULT_HEADER
from antom_django.sandbox.server import _QuietHandler, _ThreadingWSGIServer
from antom_django.sandbox.store import Payment as AntomPayment
from tests.broker import forget_queue
from tests.celery_app import RESULT_URL, app
from tests.processes import LoggedProcess

from .calls import CallLog
from .recorder import Recorder, read

APPROVED = "4242424242424242"
DECLINED = "4000000000000002"
CELERY = [
    sys.executable,
    # tox runs with DeprecationWarnings as errors; Celery's Redis result backend calls redis-py's deprecated
    # setex, which would kill the worker on its first result.
    *("-W", "ignore::DeprecationWarning:celery.backends.redis"),
    *("-m", "celery", "-A", "tests.celery_app"),
]
WORKER = [
    "worker",
    "-P",
    "solo",
    "-c",
    "1",
    "--without-gossip",
    "--without-mingle",
    "--without-heartbeat",
    "-l",
    "info",
]
MANAGE = [sys.executable, "manage.py"]
FAST = {"POLL_INTERVAL": 0.3, "SWEEP_INTERVAL": 1.0, "FOLLOW_UP_WINDOW": 600.0}
"""Short intervals, so that every test runs in seconds (the defaults are 2 s, 5 minutes and a day)."""


def database_url() -> str:
    """The URL of the database this test runs on (pytest-django's test database), for the processes."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    host, port = s["HOST"] or "127.0.0.1", s["PORT"] or 5432
    password = f":{s['PASSWORD']}" if s["PASSWORD"] else ""
    return f"postgres://{s['USER']}{password}@{host}:{port}/{s['NAME']}"


TASK_ID = re.compile(r"Task [\w.]+\[([0-9a-f-]{36})\] received")


def forget_results(task_ids: set[str]) -> None:
    """Remove these tasks' results from the result backend (Celery keeps them a day)."""
    for task_id in task_ids:
        AsyncResult(task_id, app=app).forget()


class Ticker(threading.Thread):
    """Sends tasks every ``period`` seconds, as beat would (the beat test runs the real one)."""

    def __init__(self, send: Callable[[str, dict[str, Any], float], object], period: float, tasks: dict[str, Any]):
        super().__init__(name="antom-test-ticker", daemon=True)
        self.send, self.period, self.tasks = send, period, tasks
        self.stopped = threading.Event()

    def run(self) -> None:
        while True:
            for name, kwargs in self.tasks.items():
                self.send(name, kwargs, 4 * self.period)
            if self.stopped.wait(self.period):
                return


class Background:
    """One test's shop, simulator and processes (see the module docstring)."""

    def __init__(self, sandbox: SandboxServer, shop_url: str, tmp_path: Path) -> None:
        self.sandbox, self.shop_url, self.tmp_path = sandbox, shop_url, tmp_path
        self.queue = f"antom-bg-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.calls = CallLog(sandbox)
        self.signal_log = tmp_path / "signals.jsonl"
        self.recorder = Recorder(self.signal_log)
        self.processes: list[LoggedProcess] = []
        self.tickers: list[Ticker] = []
        self.antom: dict[str, Any] = {}
        self.redis_used = False
        self._restore: list[Callable[[], object]] = []
        self.recorder.connect()
        self._restore.append(self.recorder.disconnect)
        self.calls.install()
        self._restore.append(self.calls.uninstall)
        self.configure(**FAST, NOTIFY_URL=f"{shop_url}/antom/notify/")

    # -- settings, for this process and the ones it starts ------------------------------------------------------

    def configure(self, **antom: Any) -> None:
        """Set ``ANTOM`` keys here and in every process started from now on."""
        self.antom = {**settings.ANTOM, **self.antom, **antom}
        override = override_settings(ANTOM=self.antom)
        override.enable()
        self._restore.append(override.disable)

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.background.settings",
            "ANTOM_TEST_DATABASE_URL": database_url(),
            "ANTOM_TEST_ANTOM": json.dumps(self.antom),
            "ANTOM_TEST_SIGNALS": str(self.signal_log),
            "ANTOM_TEST_QUEUE": self.queue,
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
        return env

    # -- processes ----------------------------------------------------------------------------------------------

    def start(self, command: list[str], name: str, **env: str) -> LoggedProcess:
        process = LoggedProcess(command, self.env(**env), self.tmp_path / f"{len(self.processes)}-{name}.log")
        self.processes.append(process)
        return process

    def worker(self, *args: str, ready: bool = True, **env: str) -> LoggedProcess:
        """A Celery worker (solo pool) on this test's queue; waits until it consumes unless ``ready=False``."""
        name = f"worker{len(self.processes)}"
        self.redis_used |= "ANTOM_TEST_BROKER_URL" not in env
        process = self.start([*CELERY, *WORKER, "-Q", self.queue, "-n", f"{name}@%h", *args], name, **env)
        if ready:
            self.eventually(lambda: " ready." in process.output(), 60, f"{name} to be ready")
        return process

    def beat(self, **env: str) -> LoggedProcess:
        """``celery beat`` sending :data:`antom_django.beat.BEAT_SCHEDULE`'s entries to this test's queue."""
        schedule = self.tmp_path / f"beat-schedule-{len(self.processes)}"
        return self.start([*CELERY, "beat", "-s", str(schedule), "-l", "info"], "beat", **env)

    def manage(self, *args: str) -> LoggedProcess:
        return self.start([*MANAGE, *args], args[0])

    def send(self, task: str, kwargs: dict[str, Any] | None = None, expires: float | None = None) -> AsyncResult:
        """Send a task by name to this test's queue."""
        self.redis_used = True
        return app.send_task(task, kwargs=kwargs or {}, queue=self.queue, expires=expires)

    def tick(self, *, sweep: bool = False, batch: int = 100, period: float = 0.5) -> None:
        """Send ``process_due`` (and ``sweep``) tasks every ``period`` until the test ends. Each ``process_due``
        works for half the period, so that a worker keeps up with them and a sweep never waits behind a backlog."""
        tasks: dict[str, Any] = {"antom_django.process_due": {"seconds": period / 2, "batch": batch}}
        if sweep:
            tasks["antom_django.sweep"] = {}
        ticker = Ticker(self.send, period, tasks)
        ticker.start()
        self.tickers.append(ticker)

    def close(self) -> None:
        """Stop every process and ticker; put the settings, the simulator and the signals back; empty the queue
        and forget the tasks' results."""
        for ticker in self.tickers:
            ticker.stopped.set()
            ticker.join(timeout=10)
        for process in self.processes:  # all at once: each one's warm shutdown takes about a second
            if process.process.poll() is None:
                process.process.terminate()
        for process in self.processes:
            try:
                process.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.process.kill()
            process.stop()
        for restore in reversed(self._restore):
            restore()
        if self.redis_used:
            forget_queue(self.queue)
        if RESULT_URL:  # every task a worker of this test received: sent here, by a ticker, beat or the shop
            forget_results({found for p in self.processes for found in TASK_ID.findall(p.output())})

    def outputs(self) -> str:
        return "\n".join(
            f"--- {' '.join(p.command[-12:])} (exit {p.process.returncode}) ---\n{p.output()[-6000:]}"
            for p in self.processes
        )

    def eventually(self, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
        """Poll ``predicate`` until it returns something truthy; fail with every process's output after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout}s waiting for {what}\n{self.outputs()}")
            time.sleep(0.05)

    # -- payments -----------------------------------------------------------------------------------------------

    def new_payment(self, reference: str = "order-1", value: int = 4200) -> Payment:
        """A payment with an open session at the simulator (PENDING, the buyer has not paid yet)."""
        return services.start_payment(
            amount=Amount("SGD", value), reference_order_id=reference, description=f"Order {reference}"
        )

    def pay(self, payment: Payment, card: str = APPROVED) -> Payment:
        """The buyer pays at the simulator's hosted checkout."""
        answer = self.sandbox.pay(payment.session_data, card)
        assert answer.get("paymentStatus"), answer
        return payment

    def authorize_for(self, seconds: float) -> None:
        """The simulator's authorizations end ``seconds`` after they are granted, until the test ends."""
        config = self.sandbox.sim.config
        default, config.auth_ttl = config.auth_ttl, seconds
        self._restore.append(lambda: setattr(config, "auth_ttl", default))

    def at_antom(self, payment: Payment) -> AntomPayment:
        """The simulator's own record of a payment (its captures, its cancel)."""
        store = self.sandbox.sim.store
        with store.lock:
            found = store.payment(self.antom["CLIENT_ID"], None, payment.payment_request_id)
        assert found is not None, f"the simulator has no payment {payment.payment_request_id}"
        return found

    def refreshed(self, payment: Payment) -> Payment:
        return Payment.objects.get(pk=payment.pk)

    def status_is(self, payment: Payment, *statuses: str, timeout: float = 20.0) -> Payment:
        """Wait until the payment is in one of ``statuses``; returns it."""
        return self.eventually(
            lambda: (found := self.refreshed(payment)).status in statuses and found,
            timeout,
            f"payment {payment.payment_request_id} to be {'/'.join(statuses)} (is {self.refreshed(payment).status})",
        )

    def signals(self, name: str | None = None, payment: Payment | None = None) -> list[dict[str, Any]]:
        """Signals sent so far by any process, of one kind and about one payment if given."""
        return [
            s
            for s in read(self.signal_log)
            if name in (None, s["signal"]) and (payment is None or s["payment"] == payment.payment_request_id)
        ]


@pytest.fixture
def shop_url(transactional_db: None) -> Iterator[str]:
    """This test project served over real HTTP on a free port, in a thread of the test process (Antom notifies
    it there)."""
    server = make_server(
        "127.0.0.1", 0, get_wsgi_application(), server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, name="antom-test-shop", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def background(
    transactional_db: None, antom_sandbox: SandboxServer, shop_url: str, tmp_path: Path
) -> Iterator[Background]:
    """The test's :class:`Background`; every process it started is stopped at the end, its output printed."""
    bg = Background(antom_sandbox, shop_url, tmp_path)
    try:
        yield bg
    finally:
        bg.close()
        print(bg.outputs())


@contextmanager
def fault(spec: str) -> Iterator[None]:
    """Every request the test process's client sends inside the block carries ``X-Antom-Sandbox-Fault: spec``."""
    session = antom_settings.get_client().session
    session.headers[FAULT_HEADER] = spec
    try:
        yield
    finally:
        del session.headers[FAULT_HEADER]
