"""Result polling by real Celery workers: every ``POLL_INTERVAL`` while the outcome is pending, not once after."""

from __future__ import annotations

import time

import pytest

from antom_django.models import Payment, PaymentEvent, Source
from antom_django.state import PAYMENT_PENDING

from .conftest import Background

pytestmark = pytest.mark.postgres
P = Payment.Status


def test_polling_stops_once_a_notification_settles_the_payment(background: Background) -> None:
    background.worker()
    background.tick()
    payment = background.new_payment()
    # The buyer takes a while: the worker asks Antom every POLL_INTERVAL meanwhile.
    background.eventually(lambda: len(background.calls.about(payment, "inquiryPayment")) >= 3, 20, "three polls")
    assert background.refreshed(payment).status in PAYMENT_PENDING

    background.pay(payment)
    background.sandbox.wait_for_notifications(1, "PAYMENT_RESULT")
    payment = background.status_is(payment, P.AUTHORIZED)
    applied = PaymentEvent.objects.get(payment=payment, to_status=P.AUTHORIZED)
    assert applied.source == Source.NOTIFICATION
    settled_at = applied.created_at.timestamp()

    time.sleep(8 * background.antom["POLL_INTERVAL"])
    late = background.calls.about(payment, "inquiryPayment", after=settled_at)
    # At most the one poll a worker had already started as the notification was applied, and none after it.
    assert len(late) <= 1, late
    assert all(call.at < settled_at + 1.0 for call in late), late
    assert not PaymentEvent.objects.filter(payment=payment, created_at__gt=applied.created_at).exists()
    assert [s["signal"] for s in background.signals("payment_authorized", payment)] == ["payment_authorized"]


def test_celery_beat_drives_polling_that_settles_a_dropped_payment_result(background: Background) -> None:
    background.sandbox.set_faults(notify_drop=-1)  # Antom's PAYMENT_RESULT never arrives
    background.worker()
    beat = background.beat()
    payment = background.pay(background.new_payment())

    payment = background.status_is(payment, P.AUTHORIZED)
    event = PaymentEvent.objects.get(payment=payment, to_status=P.AUTHORIZED)
    assert event.source == Source.POLL
    assert {a.outcome for d in background.sandbox.notifications("PAYMENT_RESULT") for a in d.attempts} == {"dropped"}
    sent = beat.output()
    assert "antom_django.process_due" in sent, sent
    assert len(background.signals("payment_authorized", payment)) == 1
