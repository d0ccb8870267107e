"""On SQLite the service layer's transactions take the write lock up front, and connections wait for it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import OperationalError, connection, connections, transaction
from django.db.backends.sqlite3.base import DatabaseWrapper
from django.test.utils import CaptureQueriesContext

from antom_django.apps import SQLITE_BUSY_TIMEOUT_MS
from antom_django.models import Payment
from antom_django.services.context import atomic
from tests.api.conftest import make_payment

pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]

HOLD = 0.5
"""How long the other connection keeps its write transaction open."""


@pytest.fixture(autouse=True)
def _sqlite_only() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("about SQLite: run with a sqlite:/// ANTOM_TEST_DATABASE_URL (CI deselects it on PostgreSQL)")


def begins(block: Any) -> list[str]:
    """The BEGIN statements a block sends."""
    with CaptureQueriesContext(connection) as queries, block:
        Payment.objects.count()
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith("BEGIN")]


def test_atomic_begins_immediate_and_leaves_the_projects_transactions_alone() -> None:
    assert begins(atomic()) == ["BEGIN IMMEDIATE"]
    assert begins(transaction.atomic()) == ["BEGIN"]
    with transaction.atomic():  # nested in the caller's transaction: a savepoint of it, no BEGIN of its own
        assert begins(atomic()) == []


def test_atomic_keeps_a_stronger_mode_the_project_chose() -> None:
    connection.ensure_connection()
    connection.transaction_mode = "EXCLUSIVE"
    try:
        assert begins(atomic()) == ["BEGIN EXCLUSIVE"]
        assert connection.transaction_mode == "EXCLUSIVE"
    finally:
        connection.transaction_mode = None


@contextmanager
def other_writer(release: threading.Event | None = None) -> Iterator[None]:
    """Another connection (a thread) holding the write lock, for :data:`HOLD` seconds or until ``release``."""
    holding = threading.Event()

    def write() -> None:
        try:
            with atomic():
                Payment.objects.update(description="other writer")
                holding.set()
                if release is None:
                    time.sleep(HOLD)
                else:
                    release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        assert holding.wait(10)
        yield
    finally:
        if release is not None:
            release.set()
        thread.join(10)


def read_then_write(block: Any, pk: int) -> None:
    with block:
        payment = Payment.objects.get(pk=pk)
        Payment.objects.filter(pk=pk).update(description=f"{payment.description} + this one")


def test_a_deferred_transaction_that_reads_then_writes_fails_at_once() -> None:
    """SQLite's rule that atomic() works around: no busy timeout helps a reader that then writes."""
    payment = make_payment()
    with other_writer(release=threading.Event()):
        started = time.monotonic()
        with pytest.raises(OperationalError, match="database is locked"):
            read_then_write(transaction.atomic(), payment.pk)
        assert time.monotonic() - started < 1.0  # SQLITE_BUSY at once, not after the 20 s busy timeout


def test_atomic_waits_for_the_other_writer_then_commits() -> None:
    payment = make_payment()
    with other_writer():
        started = time.monotonic()
        read_then_write(atomic(), payment.pk)
        assert time.monotonic() - started > HOLD / 2  # it waited its turn...
    assert Payment.objects.get(pk=payment.pk).description == "other writer + this one"  # ...and saw the commit


def test_connections_wait_for_a_lock_unless_the_project_set_a_timeout() -> None:
    connection.ensure_connection()
    assert connection.connection.execute("PRAGMA busy_timeout").fetchone() == (SQLITE_BUSY_TIMEOUT_MS,)
    own = DatabaseWrapper({**connection.settings_dict, "OPTIONS": {"timeout": 3}}, alias="own_timeout")
    try:
        own.ensure_connection()
        assert own.connection.execute("PRAGMA busy_timeout").fetchone() == (3000,)
    finally:
        own.close()
