"""Applying stored notifications later (queue mode's worker side, and the inline mode's sweep)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.test import override_settings
from django.utils import timezone

from antom_django.models import Notification, Payment, PaymentEvent
from antom_django.services import apply_pending_notifications, notifications
from antom_django.services.queue import RETRY_LATER, pending
from tests.concurrency import race
from tests.domain.conftest import SignalLog
from tests.domain.helpers import make_payment, payment_result, store
from tests.settings import ANTOM

Outcome = Notification.Outcome
QUEUE = {**ANTOM, "NOTIFY_APPLY": "queue"}


def age(notification: Notification, seconds: float) -> None:
    """Its latest delivery was ``seconds`` ago."""
    when = timezone.now() - timedelta(seconds=seconds)
    Notification.objects.filter(pk=notification.pk).update(created_at=when, last_received_at=when)


@pytest.mark.django_db
@override_settings(ANTOM=QUEUE)
def test_queue_mode_applies_everything_stored_oldest_first(signal_log: SignalLog) -> None:
    first, second = make_payment(payment_request_id="p-1"), make_payment(payment_request_id="p-2")
    stored = [store(payment_result(first)), store(payment_result(second, "F"))]
    done = apply_pending_notifications()
    assert done == Counter({Outcome.APPLIED: 2})
    assert [n.outcome for n in Notification.objects.order_by("pk")] == [Outcome.APPLIED, Outcome.APPLIED]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (Payment.Status.AUTHORIZED, Payment.Status.FAILED)
    assert stored[0].pk < stored[1].pk
    assert apply_pending_notifications() == Counter()


@pytest.mark.django_db
@override_settings(ANTOM=QUEUE)
def test_a_resent_notification_is_applied_once(signal_log: SignalLog) -> None:
    payment = make_payment()
    for _ in range(3):
        store(payment_result(payment))
    assert apply_pending_notifications() == Counter({Outcome.APPLIED: 1, Outcome.DUPLICATE: 2})
    assert PaymentEvent.objects.filter(payment=payment, to_status=Payment.Status.AUTHORIZED).count() == 1
    # The copies are folded into the applied row (they were kept as DUPLICATE rows before storage was bounded).
    assert Notification.objects.get().received_count == 3


@pytest.mark.django_db
@override_settings(ANTOM=QUEUE)
def test_limit_bounds_one_run() -> None:
    for i in range(5):
        store(payment_result(make_payment(payment_request_id=f"p-{i}")))
    assert apply_pending_notifications(limit=2).total() == 2
    assert pending().count() == 3
    assert apply_pending_notifications(limit=10).total() == 3


@pytest.mark.django_db
def test_unverified_and_already_handled_rows_are_never_picked() -> None:
    payment = make_payment()
    store(payment_result(payment), verified=False)
    handled = store(payment_result(payment))
    Notification.objects.filter(pk=handled.pk).update(outcome=Outcome.APPLIED)
    assert apply_pending_notifications(min_age=0) == Counter()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


@pytest.mark.django_db
def test_inline_mode_sweeps_only_rows_older_than_the_sweep_age() -> None:
    payment = make_payment()
    fresh = store(payment_result(payment))
    assert apply_pending_notifications() == Counter()  # the view may be applying it right now
    age(fresh, ANTOM.get("NOTIFY_SWEEP_AFTER", 60.0) + 1)
    assert apply_pending_notifications() == Counter({Outcome.APPLIED: 1})


@pytest.mark.django_db
@override_settings(ANTOM={**ANTOM, "NOTIFY_SWEEP_AFTER": 5.0})
def test_sweep_age_is_a_setting() -> None:
    notification = store(payment_result(make_payment()))
    age(notification, 4)
    assert apply_pending_notifications() == Counter()
    age(notification, 6)
    assert apply_pending_notifications() == Counter({Outcome.APPLIED: 1})


def broken_handler(message: str) -> Any:
    def handler(change: Any, note: Any) -> None:
        raise RuntimeError(message)

    return handler


@pytest.mark.django_db
@override_settings(ANTOM=QUEUE)
def test_an_error_is_recorded_and_the_run_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    bad, good = make_payment(payment_request_id="p-bad"), make_payment(payment_request_id="p-good")
    failing = store(payment_result(bad, notify_type="PAYMENT_PENDING"))
    store(payment_result(good))
    monkeypatch.setitem(notifications.HANDLERS, "PAYMENT_PENDING", broken_handler("boom in handler"))
    assert apply_pending_notifications() == Counter({Outcome.APPLIED: 1, Outcome.ERROR: 1})
    failing.refresh_from_db()
    assert failing.outcome == Outcome.ERROR
    assert "boom in handler" in failing.error
    assert failing.dedupe_key is None  # nothing of it was applied
    assert apply_pending_notifications() == Counter()  # ERROR rows wait for include_errors
    monkeypatch.undo()
    assert apply_pending_notifications(include_errors=True) == Counter({Outcome.APPLIED: 1})
    failing.refresh_from_db()
    assert failing.outcome == Outcome.APPLIED


@pytest.mark.django_db
@override_settings(ANTOM=QUEUE)
def test_an_error_row_is_tried_once_per_run(monkeypatch: pytest.MonkeyPatch) -> None:
    store(payment_result(make_payment(), notify_type="PAYMENT_PENDING"))
    monkeypatch.setitem(notifications.HANDLERS, "PAYMENT_PENDING", broken_handler("still broken"))
    assert apply_pending_notifications(include_errors=True) == Counter({Outcome.ERROR: 1})


@pytest.mark.django_db
@override_settings(ANTOM=QUEUE)
def test_a_database_failure_stops_the_run_and_keeps_the_row(monkeypatch: pytest.MonkeyPatch) -> None:
    payment = make_payment()
    stored = store(payment_result(payment))
    store(payment_result(make_payment(payment_request_id="p-2")))

    def unavailable(change: Any, note: Any) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setitem(notifications.HANDLERS, "PAYMENT_RESULT", unavailable)
    assert apply_pending_notifications() == Counter({RETRY_LATER: 1})
    stored.refresh_from_db()
    assert stored.outcome == Outcome.RECEIVED
    assert stored.error == ""
    monkeypatch.undo()
    assert apply_pending_notifications() == Counter({Outcome.APPLIED: 2})


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@override_settings(ANTOM=QUEUE)
def test_workers_draining_side_by_side_apply_each_notification_once(signal_log: SignalLog) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (ANTOM_TEST_DATABASE_URL)")
    payments = [make_payment(payment_request_id=f"p-{i}") for i in range(12)]
    for payment in payments:
        store(payment_result(payment))
        store(payment_result(payment))  # Antom's resend
    results = race(4, lambda _: apply_pending_notifications(limit=100))
    assert all(isinstance(counts, Counter) for counts in results), results
    total = sum(results, Counter())
    assert total == Counter({Outcome.APPLIED: 12, Outcome.DUPLICATE: 12})
    assert sum(1 for counts in results if counts) > 1, "one worker did all the work: SKIP LOCKED not exercised"
    assert set(Payment.objects.values_list("status", flat=True)) == {Payment.Status.AUTHORIZED}
    assert PaymentEvent.objects.filter(to_status=Payment.Status.AUTHORIZED).count() == 12
    assert signal_log.count("payment_authorized") == 12


@pytest.mark.django_db
@override_settings(ANTOM=QUEUE)
def test_failing_rows_never_starve_new_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(3):
        store(payment_result(make_payment(payment_request_id=f"bad-{i}"), notify_type="PAYMENT_PENDING"))
    monkeypatch.setitem(notifications.HANDLERS, "PAYMENT_PENDING", broken_handler("always fails"))
    assert apply_pending_notifications() == Counter({Outcome.ERROR: 3})
    fresh = store(payment_result(make_payment(payment_request_id="fresh")))
    # Oldest first would spend the whole limit on the three failing rows.
    assert apply_pending_notifications(limit=1, include_errors=True) == Counter({Outcome.APPLIED: 1})
    fresh.refresh_from_db()
    assert fresh.outcome == Outcome.APPLIED
    assert apply_pending_notifications(limit=10, include_errors=True) == Counter({Outcome.ERROR: 3})


@pytest.mark.django_db
@override_settings(ANTOM=QUEUE)
def test_stop_ends_the_run_between_notifications() -> None:
    for i in range(4):
        store(payment_result(make_payment(payment_request_id=f"p-{i}")))
    asked: list[int] = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 2

    assert apply_pending_notifications(stop=stop) == Counter({Outcome.APPLIED: 2})
    assert pending().count() == 2
