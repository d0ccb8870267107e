"""POST antom/notify/ under replay: a message sent again and again is one row and a count, in both modes."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from antom_django.client.types import ACK_BODY
from antom_django.models import Notification, Payment, PaymentEvent
from antom_django.services import apply_pending_notifications, notifications
from tests.api.conftest import make_payment
from tests.api.helpers import NOTIFY_PATH, encode, fixture, post_notification, signed_headers
from tests.concurrency import race
from tests.domain.conftest import signal_log
from tests.settings import ANTOM

__all__ = ["signal_log"]  # the domain tests' recorder of every signal sent, as a fixture here too

Outcome = Notification.Outcome
REPLAYS = 30
MODES = {"inline": {**ANTOM, "NOTIFY_APPLY": "inline"}, "queue": {**ANTOM, "NOTIFY_APPLY": "queue"}}


def assert_ack(response: Any) -> None:
    assert (response.status_code, response.content) == (200, ACK_BODY)


def drain(mode: str) -> Counter[str]:
    """What a queue worker would apply now (nothing in inline mode: the view applied it)."""
    return apply_pending_notifications() if mode == "queue" else Counter()


@pytest.mark.django_db(transaction=True)  # as in production: commits, and signals sent after them
@pytest.mark.parametrize("mode", list(MODES))
def test_a_notification_resent_many_times_is_one_row_applied_once(mode: str, signal_log: Any) -> None:
    payment = make_payment()
    body = encode(fixture("notifyPayment_success"))
    with override_settings(ANTOM=MODES[mode]):
        for _ in range(REPLAYS // 2):  # Antom's resends: the same body, signed anew each time
            assert_ack(post_notification(Client(), body))
        assert drain(mode) == (Counter({Outcome.APPLIED: 1}) if mode == "queue" else Counter())
        for _ in range(REPLAYS - REPLAYS // 2):  # and more once it is applied
            assert_ack(post_notification(Client(), body))
        assert drain(mode) == Counter()
    stored = Notification.objects.get()
    assert (stored.outcome, stored.received_count, stored.body, stored.payment_id) == (
        Outcome.APPLIED,
        REPLAYS,
        body.decode(),
        payment.pk,
    )
    assert stored.last_received_at > stored.created_at
    payment.refresh_from_db()
    assert payment.status == Payment.Status.AUTHORIZED
    assert PaymentEvent.objects.filter(payment=payment).count() == 1
    assert signal_log.count("payment_authorized") == 1
    assert signal_log.count("payment_status_changed") == 1


@pytest.mark.parametrize("mode", list(MODES))
def test_a_captured_request_replayed_verbatim_grows_nothing(mode: str, pending_payment: Payment) -> None:
    """Anyone who saw one signed request can send it again, unchanged, while its request-time is in the window."""
    body = encode(fixture("notifyPayment_success"))
    headers = signed_headers(body)
    client = Client()
    with override_settings(ANTOM=MODES[mode]):
        for _ in range(REPLAYS):
            assert_ack(client.post(NOTIFY_PATH, data=body, content_type="application/json", headers=headers))
        drain(mode)
    stored = Notification.objects.get()
    assert (stored.outcome, stored.received_count) == (Outcome.APPLIED, REPLAYS)
    assert PaymentEvent.objects.filter(payment=pending_payment).count() == 1


@pytest.mark.parametrize("mode", list(MODES))
def test_resends_in_other_bytes_are_folded_into_the_applied_row(mode: str, pending_payment: Payment) -> None:
    """The same message (same dedupe key) in other bytes each time: stored until applied, then counted on the
    applied row and deleted; the table holds one row however many copies came (each was a DUPLICATE row)."""
    payload = fixture("notifyPayment_success")
    with override_settings(ANTOM=MODES[mode]):
        for indent in [None, *range(1, 10)]:
            body = encode(payload) if indent is None else json.dumps(payload, indent=indent).encode()
            assert_ack(post_notification(Client(), body))
            drain(mode)
            assert Notification.objects.count() == 1
        assert_ack(post_notification(Client(), json.dumps(payload, indent=1).encode()))  # a copy seen before
        drain(mode)
    stored = Notification.objects.get()
    assert (stored.outcome, stored.received_count, stored.body) == (Outcome.APPLIED, 11, encode(payload).decode())
    assert PaymentEvent.objects.filter(payment=pending_payment).count() == 1


@pytest.mark.parametrize("mode", list(MODES))
def test_a_resend_of_a_failed_notification_is_applied_again(
    mode: str, pending_payment: Payment, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(change: Any, note: Any) -> None:
        raise RuntimeError("bug in a handler")

    body = encode(fixture("notifyPayment_success"))
    monkeypatch.setitem(notifications.HANDLERS, "PAYMENT_RESULT", broken)
    with override_settings(ANTOM=MODES[mode]):
        first = post_notification(Client(), body)
        assert first.status_code == (200 if mode == "queue" else 500)
        assert drain(mode) == (Counter({Outcome.ERROR: 1}) if mode == "queue" else Counter())
        assert Notification.objects.get().outcome == Outcome.ERROR
        monkeypatch.undo()
        # Inline: applied in the request, afresh. Queue: RECEIVED again, so the next run applies it without
        # waiting for --include-errors.
        assert_ack(post_notification(Client(), body))
        assert drain(mode) == (Counter({Outcome.APPLIED: 1}) if mode == "queue" else Counter())
    stored = Notification.objects.get()
    assert (stored.outcome, stored.error, stored.received_count) == (Outcome.APPLIED, "", 2)
    pending_payment.refresh_from_db()
    assert pending_payment.status == Payment.Status.AUTHORIZED


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", list(MODES))
def test_a_replay_of_an_applied_notification_costs_one_statement(mode: str) -> None:
    make_payment()
    body = encode(fixture("notifyPayment_success"))
    with override_settings(ANTOM=MODES[mode]):
        assert_ack(post_notification(Client(), body))
        drain(mode)
        with CaptureQueriesContext(connection) as queries:
            assert_ack(post_notification(Client(), body))
    assert [q["sql"].split(" ", 1)[0] for q in queries.captured_queries] == ["INSERT"]
    assert " ON CONFLICT " in queries.captured_queries[0]["sql"]
    assert Notification.objects.get().received_count == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_copies_in_other_bytes_arriving_at_once_end_as_one_row(signal_log: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (ANTOM_TEST_DATABASE_URL)")
    payment = make_payment()
    payload = fixture("notifyPayment_success")
    copies = [encode(payload), *(json.dumps(payload, indent=i).encode() for i in range(1, 6))]
    requests = [(body, signed_headers(body)) for body in copies + copies]  # each copy twice, all at once

    def deliver(i: int) -> tuple[int, bytes]:
        body, headers = requests[i]
        response = Client().post(NOTIFY_PATH, data=body, content_type="application/json", headers=headers)
        return response.status_code, response.content

    assert race(len(requests), deliver) == [(200, ACK_BODY)] * len(requests)
    stored = Notification.objects.get()
    assert (stored.outcome, stored.received_count) == (Outcome.APPLIED, len(requests))
    payment.refresh_from_db()
    assert payment.status == Payment.Status.AUTHORIZED
    assert PaymentEvent.objects.filter(payment=payment).count() == 1
    assert signal_log.count("payment_authorized") == 1


def _until_waiting_on_a_lock() -> None:
    """Return once another connection waits on a lock (PostgreSQL), or after a moment (SQLite: the busy wait)."""
    if connection.vendor != "postgresql":
        time.sleep(1.0)
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                return
        time.sleep(0.02)
    raise AssertionError("the resend never waited for the worker's row lock")


@pytest.mark.django_db(transaction=True)
def test_a_resend_while_a_worker_fails_the_row_is_applied_by_the_next_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Queue mode: a worker retrying an ERROR row holds it; Antom's resend waits for that lock, makes the row
    RECEIVED and is acknowledged. The worker's failure must not then mark it ERROR over the resend (it did:
    acknowledged, yet no run without --include-errors ever applied it)."""
    make_payment()
    body = encode(fixture("notifyPayment_success"))
    holding, release = threading.Event(), threading.Event()

    def broken(change: Any, note: Any) -> None:
        holding.set()
        release.wait(10)
        raise RuntimeError("bug in a handler")

    monkeypatch.setitem(notifications.HANDLERS, "PAYMENT_RESULT", broken)
    with override_settings(ANTOM=MODES["queue"]):
        assert_ack(post_notification(Client(), body))
        release.set()
        assert apply_pending_notifications() == Counter({Outcome.ERROR: 1})
        holding.clear()
        release.clear()
        answers: list[Any] = []

        def in_thread(work: Any) -> threading.Thread:
            def run() -> None:
                try:
                    answers.append(work())
                finally:
                    connections.close_all()

            thread = threading.Thread(target=run)
            thread.start()
            return thread

        worker = in_thread(lambda: apply_pending_notifications(include_errors=True))
        assert holding.wait(10)
        resend = in_thread(lambda: post_notification(Client(), body))
        _until_waiting_on_a_lock()
        release.set()
        worker.join(20)
        resend.join(20)
        monkeypatch.undo()
        assert Counter({Outcome.ERROR: 1}) in answers  # the worker's attempt failed
        assert_ack(next(a for a in answers if not isinstance(a, Counter)))
        assert Notification.objects.get().outcome == Outcome.RECEIVED
        assert apply_pending_notifications() == Counter({Outcome.APPLIED: 1})
    stored = Notification.objects.get()
    assert (stored.outcome, stored.received_count) == (Outcome.APPLIED, 2)


@pytest.mark.parametrize("mode", list(MODES))
def test_the_first_deliverys_signature_and_path_are_kept_for_a_replays_check(
    mode: str, pending_payment: Payment
) -> None:
    """The signature header and the path it covered are stored with the client id and request-time it signed;
    a resend (signed anew, another request-time) is counted on the row without mixing its values in."""
    body = encode(fixture("notifyPayment_success"))
    first = signed_headers(body, request_time="1")
    with override_settings(ANTOM={**MODES[mode], "NOTIFY_TIME_TOLERANCE": 10**10}):
        assert_ack(Client().post(NOTIFY_PATH, data=body, content_type="application/json", headers=first))
        assert_ack(post_notification(Client(), body))
        drain(mode)
    stored = Notification.objects.get()
    assert (stored.signature, stored.signed_path, stored.client_id, stored.request_time, stored.received_count) == (
        first["signature"],
        NOTIFY_PATH,
        first["client-id"],
        "1",
        2,
    )
