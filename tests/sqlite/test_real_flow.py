"""The embedded default survives a real flow: runserver, Antom's notifications and shell sessions at once on SQLite.

Every part is a real process or real HTTP: ``manage.py migrate`` and ``manage.py runserver`` on a SQLite file
with the ``DATABASES`` setting ``startproject`` writes, the sandbox simulator posting signed notifications
(each one twice) to it, buyers polling their payment's status page, and three ``manage.py shell`` sessions
capturing (two of them competing), refunding and syncing the same payments at the same time.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.processes import LoggedProcess
from tests.sqlite import flow

pytestmark = pytest.mark.sqlite

ROOT = Path(__file__).resolve().parents[2]
MANAGE = [sys.executable, str(ROOT / "manage.py")]
PAYMENTS = 12
LOCKED = "database is locked"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def manage(args: list[str], env: dict[str, str], log: Path) -> LoggedProcess:
    """``manage.py <args>`` as a process of its own."""
    return LoggedProcess([*MANAGE, *args], env, log)


def wait_until_serving(url: str, server: LoggedProcess, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"runserver exited:\n{server.output()}")
        try:
            urllib.request.urlopen(f"{url}/antom/payments/none/", timeout=2)
        except urllib.error.HTTPError:
            return  # Django answered (404): it is serving
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"runserver did not answer within {timeout}s:\n{server.output()}")


def wait_for_copies(sandbox: Any, timeout: float = 30.0) -> None:
    """Until the simulator has sent every notification's second copy (it follows the first one's answer)."""
    deadline = time.monotonic() + timeout
    while not all(any(a.duplicate for a in d.attempts) for d in sandbox.notifications()):
        if time.monotonic() > deadline:
            pytest.fail(f"notification copies still unsent after {timeout}s")
        time.sleep(0.05)


def buy(url: str, sandbox: Any, number: int) -> tuple[requests.Session, str]:
    """A guest opens a session for order ``flow-<number>`` on the shop and pays it at the simulator."""
    buyer = requests.Session()
    created = buyer.post(f"{url}/antom/sessions/", json={"referenceOrderId": f"{flow.PREFIX}{number}"}, timeout=60)
    assert created.status_code == 201, created.text
    answer = sandbox.pay(created.json()["paymentSessionData"])
    assert answer.get("paymentStatus"), answer
    return buyer, created.json()["paymentRequestId"]


def poll(url: str, buyer: requests.Session, request_id: str, until: float) -> list[int]:
    """The buyer's result page polling the payment's status (each poll may inquire Antom and write)."""
    codes = []
    while time.monotonic() < until:
        codes.append(buyer.get(f"{url}/antom/payments/{request_id}/", timeout=60).status_code)
        time.sleep(0.05)
    return codes


def test_runserver_notifications_and_shell_sessions_never_lock(tmp_path: Path, antom_sandbox: Any) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    shop = {
        **antom_sandbox.antom_settings(antom_sandbox.merchant()),
        "NOTIFY_URL": f"{url}/antom/notify/",
        "REDIRECT_URL": f"{url}/done/",
        "STATUS_REFRESH_INTERVAL": 0.2,
    }
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.sqlite.settings",
        "ANTOM_FLOW_DB": str(tmp_path / "db.sqlite3"),
        "ANTOM_FLOW_ANTOM": json.dumps(shop),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("ANTOM_TEST_DATABASE_URL", None)
    antom_sandbox.set_faults(notify_duplicate=True)
    migrate = manage(["migrate", "--verbosity", "0"], env, tmp_path / "migrate.log")
    assert migrate.wait(120) == 0, migrate.output()

    started: list[LoggedProcess] = []
    try:
        server = manage(["runserver", "--noreload", f"127.0.0.1:{port}"], env, tmp_path / "runserver.log")
        started.append(server)
        wait_until_serving(url, server)
        for role in ("capture", "capture", "refund", "sync"):
            code = f"from tests.sqlite.flow import act; act({role!r}, {PAYMENTS}, 240)"
            started.append(manage(["shell", "-c", code], env, tmp_path / f"{role}-{len(started)}.log"))

        with ThreadPoolExecutor(max_workers=4) as pool:
            buyers = list(pool.map(lambda n: buy(url, antom_sandbox, n), range(PAYMENTS)))
            until = time.monotonic() + 3.0
            polls = list(pool.map(lambda b: poll(url, *b, until), buyers))
        shells = started[1:]
        for shell in shells:
            assert shell.wait(300) == 0, shell.output()
        antom_sandbox.wait_for_notifications(PAYMENTS, "REFUND_RESULT", timeout=60)
        wait_for_copies(antom_sandbox)
    finally:
        for process in started:
            process.stop()

    logs = {p.log.name: p.output() for p in [migrate, *started]}
    assert not [name for name, text in logs.items() if LOCKED in text], logs
    assert all(code == 200 for codes in polls for code in codes), polls
    # Every delivery of every notification was acknowledged at its first attempt: none met a locked database.
    deliveries = antom_sandbox.notifications()
    assert {d.notify_type for d in deliveries} == {"PAYMENT_RESULT", "CAPTURE_RESULT", "REFUND_RESULT"}
    refused = [
        (d.notify_type, [vars(a) for a in d.attempts])
        for d in deliveries
        if {"acked"} != {a.outcome for a in d.attempts}
    ]
    assert not refused, refused
    check_final_state(env)


FINAL_STATE = """
import json
from antom_django.models import Capture, Notification, Payment, Refund
payments = Payment.objects.filter(reference_order_id__startswith="flow-")
print(json.dumps({
    "payments": sorted([p.status, p.amount, p.captured_amount, p.refunded_amount] for p in payments),
    "captures": sorted(set(Capture.objects.values_list("status", flat=True))),
    "captured": sorted(sum(c.amount for c in p.captures.all()) for p in payments),
    "refunds": sorted([r.status, r.amount] for r in Refund.objects.all()),
    "notifications": sorted(set(Notification.objects.values_list("outcome", "received_count"))),
    "review": Payment.objects.filter(needs_review=True).count(),
}))
"""


def check_final_state(env: dict[str, str]) -> None:
    """What the shop's database says once everything settled: each payment all captured and partly refunded."""
    read = subprocess.run([*MANAGE, "shell", "-c", FINAL_STATE], cwd=ROOT, env=env, capture_output=True, text=True)
    assert read.returncode == 0, read.stderr
    state = json.loads(read.stdout.strip().splitlines()[-1])
    assert state["payments"] == [["SUCCEEDED", flow.AMOUNT, flow.AMOUNT, flow.REFUND]] * PAYMENTS
    assert state["captures"] == ["SUCCEEDED"]
    assert state["captured"] == [flow.AMOUNT] * PAYMENTS
    assert state["refunds"] == [["SUCCEEDED", flow.REFUND]] * PAYMENTS
    assert state["notifications"] == [["APPLIED", 2]]  # each stored once, its copy counted on it
    assert state["review"] == 0
