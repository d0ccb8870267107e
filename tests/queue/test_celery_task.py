"""``antom_django.tasks.apply_pending_notifications`` run by a real Celery worker (Redis broker) on PostgreSQL."""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis

from antom_django.models import Notification, Payment, PaymentEvent
from antom_django.tasks import apply_pending_notifications
from tests.api.conftest import make_payment
from tests.api.helpers import fixture
from tests.celery_app import BROKER_URL, app

from .conftest import Worker, age, store

Outcome = Notification.Outcome
CELERY_WORKER = [
    sys.executable,
    # tox runs with DeprecationWarnings as errors; Celery's Redis result backend calls redis-py's deprecated
    # setex, which would kill the worker on its first result.
    *("-W", "ignore::DeprecationWarning:celery.backends.redis"),
    *("-m", "celery", "-A", "tests.celery_app", "worker", "-P", "solo", "-c", "1"),
    *("--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning"),
]


@pytest.fixture
def queue() -> Iterator[str]:
    """A queue of this test run's own, so test runs side by side (tox envs, two checkouts) never take each
    other's tasks; whatever is left in it is removed afterwards."""
    name = f"antom-tests-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    yield name
    broker = redis.Redis.from_url(BROKER_URL)
    broker.delete(name)
    broker.close()


def test_the_task_is_registered_as_documented() -> None:
    assert apply_pending_notifications.name == "antom_django.apply_pending_notifications"
    assert apply_pending_notifications.app is app
    assert (apply_pending_notifications.acks_late, apply_pending_notifications.reject_on_worker_lost) == (True, True)
    assert apply_pending_notifications.ignore_result is False


@pytest.mark.postgres
def test_a_celery_worker_applies_stored_notifications(queue: str, workers: Callable[..., Worker]) -> None:
    payment = make_payment()
    sample = fixture("notifyPayment_success")
    first = store(sample)
    store(sample)  # Antom's resend: counted on the stored row
    old = [first, store(sample, indent=1), store({**sample, "paymentRequestId": "nobody", "paymentId": "nobody"})]
    # Inline mode (the test settings): the task is the sweep, and takes only what the view left behind.
    for notification in old:
        age(notification, 120)
    fresh = store(sample, indent=2)

    worker = workers("-Q", queue, command=CELERY_WORKER)
    started = time.monotonic()
    result = apply_pending_notifications.apply_async(queue=queue)
    try:
        counts = result.get(timeout=45)
    except Exception:
        pytest.fail(f"no result after {time.monotonic() - started:.0f}s\n--- worker output ---\n{worker.output()}")
    assert counts == {Outcome.APPLIED: 1, Outcome.DUPLICATE: 1, Outcome.UNKNOWN_PAYMENT: 1}
    # The resend and the copy in other bytes are counted on the applied row (each was a row before).
    assert list(Notification.objects.order_by("pk").values_list("outcome", "received_count")) == [
        (Outcome.APPLIED, 3),
        (Outcome.UNKNOWN_PAYMENT, 1),
        (Outcome.RECEIVED, 1),  # too fresh for the sweep: the view may be applying it
    ]
    payment.refresh_from_db()
    assert payment.status == Payment.Status.AUTHORIZED
    assert PaymentEvent.objects.filter(payment=payment).count() == 1

    fresh.refresh_from_db()
    assert fresh.outcome == Outcome.RECEIVED
    Notification.objects.filter(pk=fresh.pk).update(outcome=Outcome.ERROR)
    age(fresh, 120)
    assert apply_pending_notifications.apply_async(queue=queue).get(timeout=30) == {}
    retried = apply_pending_notifications.apply_async(kwargs={"include_errors": True}, queue=queue)
    assert retried.get(timeout=30) == {Outcome.DUPLICATE: 1}
    assert list(Notification.objects.order_by("pk").values_list("outcome", "received_count")) == [
        (Outcome.APPLIED, 4),
        (Outcome.UNKNOWN_PAYMENT, 1),
    ]
