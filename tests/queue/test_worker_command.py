"""``manage.py antom_apply_notifications``: once in-process, then as real worker processes on PostgreSQL."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client, override_settings

from antom_django.management.commands.antom_apply_notifications import StopRequest
from antom_django.models import Notification, Payment, PaymentEvent
from antom_django.services import intake, notifications
from tests.api.conftest import make_payment
from tests.api.helpers import fixture, post_notification
from tests.settings import ANTOM

from .conftest import Worker, age, backends, database_url, store, wait_for

Outcome = Notification.Outcome
QUEUE = {**ANTOM, "NOTIFY_APPLY": "queue"}


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("antom_apply_notifications", *args, stdout=out)
    return out.getvalue()


def outcomes() -> list[str]:
    return list(Notification.objects.order_by("pk").values_list("outcome", flat=True))


@contextmanager
def payment_locked(payment: Payment) -> Iterator[psycopg.Connection]:
    """Another session holds the payment's row lock (released on exit), so a worker blocks inside its
    transaction."""
    holder = psycopg.connect(database_url().replace("postgres://", "postgresql://", 1))
    try:
        holder.execute("SELECT id FROM antom_django_payment WHERE id = %s FOR UPDATE", [payment.pk])
        yield holder
    finally:
        holder.rollback()
        holder.close()


def blocked_on_the_payment(worker: Worker) -> list[tuple[int]]:
    """The worker's server sessions waiting for the payment's row lock, once there is one."""
    return wait_for(
        lambda: backends("wait_event_type = 'Lock' AND query LIKE %s", "%antom_django_payment%"),
        30,
        "the worker to wait for the payment's row lock",
        worker.output,
    )


@override_settings(ANTOM=QUEUE)
def test_once_applies_what_is_stored_and_prints_the_counts(pending_payment: Payment) -> None:
    payment = fixture("notifyPayment_success")
    first = store(payment)
    store(payment)  # Antom's resend: counted on the stored row
    store(payment, indent=1)  # the same message in other bytes: a row until it is applied, then folded in
    store({**payment, "paymentRequestId": "nobody", "paymentId": "nobody"})
    store({**payment, "notifyType": "SOMETHING_NEW"})
    assert run() == "4 notifications processed (APPLIED=1, DUPLICATE=1, IGNORED=1, UNKNOWN_PAYMENT=1)\n"
    # Storage is bounded: the resend and the copy were a DUPLICATE row each before.
    assert outcomes() == [Outcome.APPLIED, Outcome.UNKNOWN_PAYMENT, Outcome.IGNORED]
    first.refresh_from_db()
    assert first.received_count == 3
    pending_payment.refresh_from_db()
    assert pending_payment.status == Payment.Status.AUTHORIZED
    assert run() == "0 notifications processed\n"


@override_settings(ANTOM=QUEUE)
def test_limit_caps_one_run(pending_payment: Payment) -> None:
    for indent in (None, 1, 2):
        store(indent=indent)
    assert run("--limit", "2") == "2 notifications processed (APPLIED=1, DUPLICATE=1)\n"
    assert outcomes() == [Outcome.APPLIED, Outcome.RECEIVED]
    assert run("--limit", "2") == "1 notification processed (DUPLICATE=1)\n"
    assert outcomes() == [Outcome.APPLIED]


def test_inline_mode_sweeps_only_what_the_view_left_behind(pending_payment: Payment) -> None:
    fresh = store()
    assert run() == "0 notifications processed\n"  # NOTIFY_SWEEP_AFTER: the view may be applying it now
    age(fresh, 61)
    assert run() == "1 notification processed (APPLIED=1)\n"
    store()  # the same bytes: counted on the applied row, nothing to apply
    assert run("--min-age", "0") == "0 notifications processed\n"
    store(indent=1)
    assert run("--min-age", "0") == "1 notification processed (DUPLICATE=1)\n"
    fresh.refresh_from_db()
    assert (outcomes(), fresh.received_count) == ([Outcome.APPLIED], 3)


@override_settings(ANTOM=QUEUE)
def test_a_delivery_of_a_failed_row_is_left_for_the_worker_again(pending_payment: Payment) -> None:
    failed = store(outcome=Outcome.ERROR, error="RuntimeError: boom")
    assert run() == "0 notifications processed\n"  # ERROR rows wait for --include-errors ...
    again = store()  # ... unless Antom sends them again: then the row is RECEIVED for the next run
    assert (again.pk, again.outcome) == (failed.pk, Outcome.RECEIVED)
    assert run() == "1 notification processed (APPLIED=1)\n"
    failed.refresh_from_db()
    assert (failed.outcome, failed.error, failed.received_count) == (Outcome.APPLIED, "", 2)


@override_settings(ANTOM=QUEUE)
def test_a_failure_is_handled_as_the_view_handles_it(pending_payment: Payment, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(change: object, note: object) -> None:
        raise RuntimeError("bug in a handler")

    monkeypatch.setitem(notifications.HANDLERS, "PAYMENT_RESULT", broken)
    failed = store()
    assert run() == "1 notification processed (ERROR=1)\n"
    failed.refresh_from_db()
    assert failed.outcome == Outcome.ERROR
    assert failed.error == "RuntimeError: bug in a handler"
    # The view's path to the same row: the same rule, and the same record.
    with override_settings(ANTOM=ANTOM):
        result = intake.receive(failed.body, json.loads(failed.body))
    assert (result.notification and result.notification.pk, result.outcome, result.acknowledge) == (
        failed.pk,
        Outcome.ERROR,
        False,
    )
    failed.refresh_from_db()
    assert (failed.outcome, failed.error, failed.received_count) == (Outcome.ERROR, "RuntimeError: bug in a handler", 2)


@override_settings(ANTOM=QUEUE)
def test_include_errors_retries_failed_notifications(pending_payment: Payment) -> None:
    failed = store(outcome=Outcome.ERROR, error="OperationalError: server closed the connection")
    assert run() == "0 notifications processed\n"
    assert run("--include-errors") == "1 notification processed (APPLIED=1)\n"
    failed.refresh_from_db()
    assert (failed.outcome, failed.error, failed.payment_id) == (Outcome.APPLIED, "", pending_payment.pk)


@override_settings(ANTOM=QUEUE)
def test_loop_in_process_logs_each_run_and_stops_on_sigterm(
    pending_payment: Payment, caplog: pytest.LogCaptureFixture
) -> None:
    store()
    previous = signal.getsignal(signal.SIGTERM)

    def stop_when_waiting() -> None:
        deadline = time.monotonic() + 10
        while not isinstance(signal.getsignal(signal.SIGTERM), StopRequest) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)  # into the wait after the first run
        # Without the command's handler this interrupts the test instead of hanging it.
        installed = isinstance(signal.getsignal(signal.SIGTERM), StopRequest)
        os.kill(os.getpid(), signal.SIGTERM if installed else signal.SIGINT)

    stopper = threading.Thread(target=stop_when_waiting, daemon=True)
    stopper.start()
    started = time.monotonic()
    with caplog.at_level(logging.INFO, logger="antom_django.queue"):
        lines = run("--loop", "--interval", "30").splitlines()
    stopper.join(5)
    assert time.monotonic() - started < 5
    assert lines[0].startswith("Applying Antom notifications: ")
    assert lines[1:] == ["Stopped."]
    assert [r.getMessage() for r in caplog.records if r.name == "antom_django.queue"] == [
        "antom queue: 1 notification processed (APPLIED=1)"
    ]
    assert outcomes() == [Outcome.APPLIED]
    assert signal.getsignal(signal.SIGTERM) is previous


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--limit", "0"], "--limit must be a positive whole number"),
        (["--limit", "-5"], "--limit must be a positive whole number"),
        (["--min-age", "-1"], "--min-age must be a number of seconds, 0 or more"),
        (["--min-age", "nan"], "--min-age must be a number of seconds, 0 or more"),
        (["--loop", "--interval", "0"], "--interval must be a positive number of seconds"),
        (["--loop", "--interval", "inf"], "--interval must be a positive number of seconds"),
    ],
)
def test_bad_arguments_are_refused(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("antom_apply_notifications", *args, stdout=io.StringIO())


def test_not_a_number_is_refused_by_the_parser() -> None:
    with pytest.raises(CommandError, match="invalid int value"):
        call_command("antom_apply_notifications", "--limit", "many", stdout=io.StringIO())


# Real worker processes on the test database.


@pytest.mark.postgres
def test_once_exits_0_and_1_when_the_database_is_unavailable(
    workers: Callable[..., Worker], worker_env: dict[str, str]
) -> None:
    make_payment()
    store()
    ok = workers("--min-age", "0")
    assert ok.wait(60) == 0, ok.output()
    assert ok.output().splitlines()[-1] == "1 notification processed (APPLIED=1)"
    assert outcomes() == [Outcome.APPLIED]

    # Nothing listens on port 1: every connection attempt is refused.
    down = workers("--min-age", "0", env={**worker_env, "ANTOM_TEST_DATABASE_URL": "postgres://postgres@127.0.0.1:1/x"})
    assert down.wait(60) == 1, down.output()
    assert "0 notifications processed (RETRY_LATER=1)" in down.output()
    assert "CommandError: database unavailable" in down.output()


@pytest.mark.postgres
def test_loop_wakes_on_listen_and_stops_on_sigterm(workers: Callable[..., Worker]) -> None:
    payment = make_payment()
    worker = workers("--loop", "--interval", "30", "--min-age", "0")
    wait_for(lambda: backends("query = 'LISTEN antom_notifications'"), 30, "the worker to LISTEN", worker.output)
    assert "LISTEN antom_notifications" in worker.output().splitlines()[0]

    with override_settings(ANTOM=QUEUE):
        posted = time.monotonic()
        response = post_notification(Client(), fixture("notifyPayment_success"))
    assert response.status_code == 200
    wait_for(lambda: outcomes() == [Outcome.APPLIED], 5, "the notification to be applied", worker.output)
    assert time.monotonic() - posted < 5  # woken by NOTIFY, not by the 30 s interval
    payment.refresh_from_db()
    assert payment.status == Payment.Status.AUTHORIZED

    stopping = time.monotonic()
    worker.process.send_signal(signal.SIGTERM)
    assert worker.wait(10) == 0, worker.output()
    assert time.monotonic() - stopping < 3
    assert worker.output().splitlines()[-1] == "Stopped."


@pytest.mark.postgres
def test_sigterm_lets_the_notification_in_hand_finish(workers: Callable[..., Worker]) -> None:
    payment = make_payment()
    store()
    with payment_locked(payment):
        worker = workers("--loop", "--min-age", "0")
        blocked_on_the_payment(worker)
        worker.process.send_signal(signal.SIGTERM)
        time.sleep(1.5)
        assert worker.process.poll() is None, worker.output()  # still applying, not abandoning it
    assert worker.wait(10) == 0, worker.output()
    assert worker.output().splitlines()[-1] == "Stopped."
    assert outcomes() == [Outcome.APPLIED]
    payment.refresh_from_db()
    assert payment.status == Payment.Status.AUTHORIZED


@pytest.mark.postgres
def test_loop_survives_losing_the_database(workers: Callable[..., Worker]) -> None:
    make_payment()
    worker = workers("--loop", "--interval", "30", "--min-age", "0")
    listening = wait_for(lambda: backends("query = 'LISTEN antom_notifications'"), 30, "LISTEN", worker.output)
    name = connection.settings_dict["NAME"]
    # New connections are refused and the worker's is cut: an outage as the worker sees it. (A database's
    # connections can only be switched off from another database.)
    admin = psycopg.connect(database_url().replace("postgres://", "postgresql://", 1).rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    try:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            admin.execute("SELECT pg_terminate_backend(%s)", [listening[0][0]])
            time.sleep(4)  # a few failed reconnects, backing off
            assert worker.process.poll() is None, worker.output()
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    finally:
        admin.close()
    assert "database unavailable" in worker.output()
    wait_for(
        lambda: backends("query = 'LISTEN antom_notifications' AND pid <> %s", listening[0][0]),
        40,
        "the worker to LISTEN again",
        worker.output,
    )
    with override_settings(ANTOM=QUEUE):
        assert post_notification(Client(), fixture("notifyPayment_success")).status_code == 200
    wait_for(lambda: outcomes() == [Outcome.APPLIED], 5, "the notification to be applied", worker.output)
    worker.process.send_signal(signal.SIGTERM)
    assert worker.wait(10) == 0, worker.output()


@pytest.mark.postgres
def test_a_worker_killed_mid_apply_leaves_it_for_the_next(workers: Callable[..., Worker]) -> None:
    payment = make_payment()
    store()
    with payment_locked(payment):
        first = workers("--min-age", "0")
        blocked = blocked_on_the_payment(first)
        first.process.send_signal(signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
    # The orphaned server session gets the lock, finds its client gone, and rolls back.
    wait_for(lambda: not backends("pid = %s", blocked[0][0]), 30, "the killed worker's session to end")
    assert outcomes() == [Outcome.RECEIVED]

    second = workers("--min-age", "0")
    assert second.wait(60) == 0, second.output()
    assert second.output().splitlines()[-1] == "1 notification processed (APPLIED=1)"
    assert outcomes() == [Outcome.APPLIED]
    payment.refresh_from_db()
    assert payment.status == Payment.Status.AUTHORIZED
    assert PaymentEvent.objects.filter(payment=payment).count() == 1
    assert run("--min-age", "0") == "0 notifications processed\n"
