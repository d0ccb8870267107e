"""POST antom/notify/ with NOTIFY_APPLY = "queue": acknowledged once stored, applied by a worker."""

from __future__ import annotations

import threading
import time
from collections import Counter

import psycopg
import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from antom_django.client.types import ACK_BODY
from antom_django.models import Notification, Payment, PaymentEvent
from antom_django.services import apply_pending_notifications
from antom_django.services.queue import CHANNEL, Listener
from tests.api.helpers import encode, fixture, post_notification
from tests.settings import ANTOM

Outcome = Notification.Outcome
QUEUE = {**ANTOM, "NOTIFY_APPLY": "queue"}


def assert_ack(response: object) -> None:
    assert getattr(response, "status_code", None) == 200
    assert getattr(response, "content", None) == ACK_BODY


@override_settings(ANTOM=QUEUE)
def test_acknowledged_once_stored_and_applied_by_the_worker(client: Client, pending_payment: Payment) -> None:
    body = encode(fixture("notifyPayment_success"))
    assert_ack(post_notification(client, body))
    stored = Notification.objects.get()
    assert (stored.outcome, stored.body, stored.signature_verified) == (Outcome.RECEIVED, body.decode(), True)
    pending_payment.refresh_from_db()
    assert pending_payment.status == Payment.Status.PENDING  # not applied by the view
    assert apply_pending_notifications() == Counter({Outcome.APPLIED: 1})
    pending_payment.refresh_from_db()
    assert pending_payment.status == Payment.Status.AUTHORIZED
    stored.refresh_from_db()
    assert (stored.outcome, stored.payment_id) == (Outcome.APPLIED, pending_payment.pk)


@override_settings(ANTOM=QUEUE)
def test_a_resent_notification_is_acknowledged_again_and_applied_once(client: Client, pending_payment: Payment) -> None:
    body = encode(fixture("notifyPayment_success"))
    for _ in range(2):
        assert_ack(post_notification(client, body))
    # One row counting both deliveries (the resend was a second row, then DUPLICATE, before storage was bounded).
    assert apply_pending_notifications() == Counter({Outcome.APPLIED: 1})
    assert_ack(post_notification(client, body))  # after it was applied: counted, nothing left to apply
    assert apply_pending_notifications() == Counter()
    assert (Notification.objects.get().outcome, Notification.objects.get().received_count) == (Outcome.APPLIED, 3)
    assert PaymentEvent.objects.filter(payment=pending_payment, to_status=Payment.Status.AUTHORIZED).count() == 1


@override_settings(ANTOM=QUEUE)
def test_bad_signature_is_refused_before_anything_is_queued(client: Client, pending_payment: Payment) -> None:
    body = encode(fixture("notifyPayment_success"))
    response = post_notification(client, body, headers={"signature": "algorithm=RSA256,keyVersion=1,signature=AAAA"})
    assert response.status_code == 401
    assert list(Notification.objects.values_list("outcome", flat=True)) == [Outcome.REJECTED]
    assert apply_pending_notifications() == Counter()


@pytest.mark.django_db(transaction=True)  # as in production: no test transaction around the request
@override_settings(ANTOM=QUEUE)
def test_queue_mode_costs_one_sql_statement() -> None:
    from tests.api.conftest import make_payment

    make_payment()
    body = encode(fixture("notifyPayment_success"))
    with CaptureQueriesContext(connection) as queries:
        assert_ack(post_notification(Client(), body))
    assert len(queries.captured_queries) == 1, [q["sql"] for q in queries.captured_queries]
    assert queries.captured_queries[0]["sql"].startswith("INSERT INTO")


def listen(dsn_name: str) -> psycopg.Connection:
    settings = connection.settings_dict
    conn = psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        dbname=dsn_name,
        autocommit=True,
    )
    conn.execute(f"LISTEN {CHANNEL}")
    return conn


def announcements(conn: psycopg.Connection, timeout: float) -> list[str]:
    return [n.channel for n in conn.notifies(timeout=timeout, stop_after=1)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_queued_notifications_are_announced_to_listeners_on_commit() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (ANTOM_TEST_DATABASE_URL)")
    from tests.api.conftest import make_payment

    make_payment()
    make_payment(payment_request_id="paymentRequestId02", reference_order_id="order-2")
    listener = listen(connection.settings_dict["NAME"])
    try:
        with override_settings(ANTOM=ANTOM):
            assert_ack(post_notification(Client(), fixture("notifyPayment_success")))
        assert announcements(listener, 0.5) == []  # inline mode: applied already, nobody to wake
        with override_settings(ANTOM=QUEUE):
            assert_ack(post_notification(Client(), fixture("notifyPayment_success")))
            assert announcements(listener, 0.5) == []  # a replay of an applied one: nothing to apply
            other = {**fixture("notifyPayment_success"), "paymentRequestId": "paymentRequestId02", "paymentId": "2"}
            assert_ack(post_notification(Client(), other))
        assert announcements(listener, 5.0) == [CHANNEL]
    finally:
        listener.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@override_settings(ANTOM=QUEUE)
def test_listener_wakes_when_a_notification_is_queued() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (ANTOM_TEST_DATABASE_URL)")
    from tests.api.conftest import make_payment

    make_payment()
    waiter = Listener()
    assert waiter.listens
    started = time.monotonic()
    assert waiter.wait(0.3) is False
    assert time.monotonic() - started >= 0.25

    def deliver() -> None:
        try:
            time.sleep(0.3)
            assert_ack(post_notification(Client(), fixture("notifyPayment_success")))
        finally:
            connection.close()

    sender = threading.Thread(target=deliver)
    sender.start()
    started = time.monotonic()
    try:
        assert waiter.wait(20.0) is True
        assert time.monotonic() - started < 10.0
    finally:
        sender.join()
    assert apply_pending_notifications() == Counter({Outcome.APPLIED: 1})
