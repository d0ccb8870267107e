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


@pytest.fixture(autouse=True)
def _sqlite_only() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("about SQLite: run with a sqlite:/// ANTOM_TEST_DATABASE_URL (CI deselects it on PostgreSQL)")


def other_stripe(reference: str) -> str:
    """A reference whose lock is not the same stripe as ``reference``'s."""
    taken = _lock_key(reference) % LOCK_STRIPES
    return next(f"other-{n}" for n in range(100) if _lock_key(f"other-{n}") % LOCK_STRIPES != taken)


def test_another_process_holding_an_orders_lock_makes_this_one_wait() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "tests.settings"}
    # The child must open the same database file as this test (the test database, not the named one).
    env["ANTOM_TEST_SQLITE_NAME"] = str(connection.settings_dict["NAME"])
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, "order-77"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
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
