"""On a SQLite file, the per-order checkout lock holds across processes (two tabs in two runserver workers)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connection

from antom_django.services.checkout import LOCK_STRIPES, _lock_key, order_lock

pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]

HOLDER = """
import os, sys, django
from django.conf import settings
settings.DATABASES["default"]["NAME"] = os.environ["ANTOM_TEST_SQLITE_NAME"]  # the test database file
django.setup()
from antom_django.services.checkout import order_lock
with order_lock(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.readline()
"""


def holder_env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "tests.settings"}
    # The child must open the same database file as this test (the test database, not the named one).
    env["ANTOM_TEST_SQLITE_NAME"] = str(connection.settings_dict["NAME"])
    return env


@pytest.fixture(autouse=True)
def _sqlite_only() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("about SQLite: run with a sqlite:/// ANTOM_TEST_DATABASE_URL (CI deselects it on PostgreSQL)")


def other_stripe(reference: str) -> str:
    """A reference whose lock is not the same stripe as ``reference``'s."""
    taken = _lock_key(reference) % LOCK_STRIPES
    return next(f"other-{n}" for n in range(100) if _lock_key(f"other-{n}") % LOCK_STRIPES != taken)


def spawn_holder(reference: str) -> subprocess.Popen[str]:
    """Another process that takes ``reference``'s lock, prints "locked" and holds it until its stdin gets a line."""
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, reference],
        cwd=ROOT,
        env=holder_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_another_process_holding_an_orders_lock_makes_this_one_wait() -> None:
    holder = spawn_holder("order-77")
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        entered = threading.Event()

        def take() -> None:
            with order_lock("order-77"):
                entered.set()

        waiter = threading.Thread(target=take, daemon=True)
        waiter.start()
        assert not entered.wait(1.0), "took the order's lock while another process held it"
        with order_lock(other_stripe("order-77")):  # another order is not held up
            pass
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert entered.wait(10), "the lock was not handed over once the other process let go"
        waiter.join(5)
    finally:
        holder.kill()
        holder.wait(10)


def test_another_thread_finishing_with_another_order_keeps_this_orders_lock() -> None:
    # Closing any descriptor of a file drops every POSIX record lock the process holds on it: a runserver thread
    # done with one order must not let another process into the order a second thread is still checking out.
    release = threading.Event()
    held = threading.Event()

    def hold() -> None:
        with order_lock("order-77"):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    try:
        assert held.wait(10)
        with order_lock(other_stripe("order-77")):
            pass
        other = spawn_holder("order-77")
        try:
            entered = threading.Event()
            stdout = other.stdout
            assert stdout is not None

            def read() -> None:
                if stdout.readline().strip() == "locked":
                    entered.set()

            threading.Thread(target=read, daemon=True).start()
            assert not entered.wait(3.0), "another process took the order's lock while a thread here held it"
            release.set()
            assert entered.wait(10), "the lock was not handed over once the thread let go"
        finally:
            other.kill()
            other.wait(10)
    finally:
        release.set()
        holder.join(10)
