"""Captures made or settled by real workers: automatic ones with two workers racing, an unknown outcome whose
notification is lost, and a worker killed inside the call. Money moves once in every case."""

from __future__ import annotations

import os

import pytest

from antom_django import services
from antom_django.models import Capture, Payment, PaymentEvent, Source

from .conftest import Background, fault

pytestmark = pytest.mark.postgres
P = Payment.Status


def captured_once(background: Background, payment: Payment) -> Capture:
    """The payment ended SUCCEEDED by one capture: one row here, one capture and one request at Antom, one
    ``payment_succeeded`` over every process. Returns the capture."""
    payment = background.refreshed(payment)
    assert (payment.status, payment.captured_amount) == (P.SUCCEEDED, payment.amount)
    capture = Capture.objects.get(payment=payment)
    assert (capture.status, capture.amount) == (Capture.Status.SUCCEEDED, payment.amount)
    antom = background.at_antom(payment)
    assert [(c.request_id, c.status) for c in antom.captures] == [(capture.capture_request_id, "SUCCESS")]
    # Resent after an unknown outcome, a capture carries its first request id (Antom captures once).
    assert {c.body["captureRequestId"] for c in background.calls.about(payment, "capture")} == {
        capture.capture_request_id
    }
    assert len(background.signals("payment_succeeded", payment)) == 1
    assert len(background.signals("capture_succeeded", payment)) == 1
    return capture


@pytest.mark.parametrize("auto_capture", [True, 2], ids=["at-once", "after-2s"])
def test_the_automatic_capture_happens_once_with_two_workers_racing(
    background: Background, auto_capture: bool | int
) -> None:
    background.configure(AUTO_CAPTURE=auto_capture)
    if auto_capture is not True:
        background.sandbox.set_faults(notify_drop=-1)  # authorized by a worker's poll this time
    workers = [background.worker(ready=False) for _ in range(2)]
    for worker in workers:
        background.eventually(lambda w=worker: " ready." in w.output(), 60, "both workers to be ready")
    # One payment per claim and a sweep as well: the workers keep meeting on the same payments.
    background.tick(sweep=True, batch=1, period=0.25)
    payments = [background.pay(background.new_payment(f"order-{n}")) for n in range(3)]

    for payment in payments:
        background.status_is(payment, P.SUCCEEDED, timeout=30)
    for payment in payments:
        capture = captured_once(background, payment)
        authorized = PaymentEvent.objects.get(payment=payment, to_status=P.AUTHORIZED)
        sent = background.calls.about(payment, "capture")[0].at
        delay = sent - authorized.created_at.timestamp()
        if auto_capture is True:
            assert delay < 5  # the next tick
        else:
            assert authorized.source in (Source.POLL, Source.SWEEP)  # no notification arrived
            assert delay >= auto_capture - 0.05  # capture_at is set a moment before the event
        assert capture.source in (Source.SYSTEM, Source.SWEEP)
        assert len(background.calls.about(payment, "capture")) == 1
    assert all(" succeeded in " in worker.output() for worker in workers), "a worker ran no task"


def test_a_capture_answered_unknown_whose_notification_is_dropped_ends_succeeded(background: Background) -> None:
    background.worker()
    background.tick()
    payment = background.status_is(background.pay(background.new_payment()), P.AUTHORIZED)

    with fault("result=U, drop=all"):  # Antom captures, answers "unknown" and never sends the CAPTURE_RESULT
        capture = services.capture(payment, source=Source.ADMIN)
    assert capture.status == Capture.Status.PENDING

    background.status_is(payment, P.SUCCEEDED)
    assert captured_once(background, payment).pk == capture.pk
    assert {a.outcome for d in background.sandbox.notifications("CAPTURE_RESULT") for a in d.attempts} == {"dropped"}
    # The worker settled it, and the signal went from there (the shop ships the order on it).
    assert [s["pid"] != os.getpid() for s in background.signals("payment_succeeded", payment)] == [True]


def test_a_worker_killed_inside_a_capture_is_replaced_and_the_capture_completes_once(background: Background) -> None:
    background.configure(AUTO_CAPTURE=True)
    # Notifications dropped: only the workers can learn how things went; the capture takes 2 s at Antom.
    background.sandbox.set_faults(notify_drop=-1, latency=2.0, operations=("capture",))
    first = background.worker()
    background.tick(sweep=True)
    payment = background.pay(background.new_payment())

    background.eventually(lambda: background.calls.about(payment, "capture"), 20, "the worker to send the capture")
    first.process.kill()  # SIGKILL while it waits for Antom's answer
    first.process.wait(timeout=10)
    background.sandbox.set_faults(notify_drop=-1)
    assert Capture.objects.get(payment=payment).status == Capture.Status.PENDING
    assert background.refreshed(payment).status == P.AUTHORIZED

    background.worker()
    background.status_is(payment, P.SUCCEEDED, timeout=30)
    captured_once(background, payment)
