"""The sweep settles what no notification ever told us: as the Celery task in a worker, and as
``manage.py antom_sweep`` run from cron."""

from __future__ import annotations

import re
import signal
import time

import pytest
from django.utils import timezone

from antom_django import services
from antom_django.models import Capture, Payment, PaymentEvent, Source

from .conftest import DECLINED, MANAGE, Background, fault
from .test_capture import captured_once

P = Payment.Status


def sweep_by_task(background: Background) -> dict[str, int]:
    background.worker()
    counts: dict[str, int] = background.send("antom_django.sweep").get(timeout=30)
    return counts


def sweep_by_command(background: Background) -> dict[str, int]:
    # --skip-checks: the shop's notify URL is plain http here (check E009 stops every command otherwise).
    command = background.manage("antom_sweep", "--skip-checks")
    assert command.wait(60) == 0, command.output()
    found = re.search(
        r"(\d+) notifications applied, (\d+) events' signals sent, (\d+) payments checked, (\d+) changed, "
        r"(\d+) errors",
        command.output(),
    )
    assert found, command.output()
    names = ["notifications", "signals", "checked", "changed", "errors"]
    return dict(zip(names, map(int, found.groups()), strict=True))


@pytest.mark.parametrize(
    "sweep",
    [pytest.param(sweep_by_task, marks=pytest.mark.postgres, id="task"), pytest.param(sweep_by_command, id="command")],
)
def test_a_sweep_settles_payments_whose_notifications_were_all_dropped(background: Background, sweep) -> None:
    background.sandbox.set_faults(notify_drop=-1)
    paid = background.pay(background.new_payment("order-paid"))
    declined = background.pay(background.new_payment("order-declined"), DECLINED)
    captured = background.pay(background.new_payment("order-captured"))
    captured = services.sync_payment(captured, source=Source.API)
    assert captured.status == P.AUTHORIZED
    with fault("result=U"):
        assert services.capture(captured, source=Source.ADMIN).status == Capture.Status.PENDING
    # Nothing else runs: no worker polls, and the sweep takes payments quiet for SWEEP_INTERVAL.
    time.sleep(background.antom["SWEEP_INTERVAL"] + 0.2)

    counts = sweep(background)

    assert (counts["checked"], counts["changed"], counts.get("errors", 0)) == (3, 3, 0), counts
    assert background.refreshed(paid).status == P.AUTHORIZED
    assert background.refreshed(declined).status == P.FAILED
    assert background.refreshed(captured).status == P.SUCCEEDED
    captured_once(background, captured)
    for payment, status in [(paid, P.AUTHORIZED), (declined, P.FAILED), (captured, P.SUCCEEDED)]:
        event = PaymentEvent.objects.get(payment=payment, kind=PaymentEvent.Kind.STATUS, to_status=status)
        assert event.source == Source.SWEEP
    assert {a.outcome for d in background.sandbox.notifications() for a in d.attempts} == {"dropped"}


def test_signals_a_killed_process_left_unsent_are_sent_by_the_next_sweep(background: Background) -> None:
    """The outbox: a process SIGKILLed after its commit, between two signals of one transition, loses none."""
    background.configure(SIGNAL_RESEND_AFTER=6.0)
    background.sandbox.set_faults(notify_drop=-1)
    paid = background.pay(background.new_payment("order-killed"))
    time.sleep(background.antom["SWEEP_INTERVAL"] + 0.2)

    # The sweep applies the result, commits, sends payment_status_changed, then dies before payment_authorized.
    dying = background.start(
        [*MANAGE, "antom_sweep", "--skip-checks"], "dying-sweep", ANTOM_TEST_DIE_AFTER_SIGNAL="payment_status_changed"
    )
    assert dying.wait(60) == -signal.SIGKILL, dying.output()
    assert background.refreshed(paid).status == P.AUTHORIZED, "the transition committed before the death"
    event = PaymentEvent.objects.get(payment=paid, kind=PaymentEvent.Kind.STATUS, to_status=P.AUTHORIZED)
    assert event.signals == "payment_status_changed,payment_authorized" and event.signal_after is not None
    assert [s["signal"] for s in sent_for(background, event)] == ["payment_status_changed"]

    early = sweep_by_command(background)  # before SIGNAL_RESEND_AFTER: the sender may still be alive
    assert timezone.now() < event.signal_after, "the machine is too slow for this test's timing"
    assert early["signals"] == 0, early
    time.sleep((event.signal_after - timezone.now()).total_seconds() + 0.2)
    counts = sweep_by_command(background)

    assert counts["signals"] == 1, counts
    sent = sent_for(background, event)
    assert [s["signal"] for s in sent] == ["payment_status_changed", "payment_status_changed", "payment_authorized"]
    assert sent[1]["pid"] == sent[2]["pid"] != sent[0]["pid"], "sent again by the sweep, for the same event"
    event.refresh_from_db()
    assert (event.signals, event.signal_after) == ("", None)
    again = sweep_by_command(background)
    assert again["signals"] == 0 and len(sent_for(background, event)) == 3


def sent_for(background: Background, event: PaymentEvent) -> list[dict[str, object]]:
    return [s for s in background.signals() if s["event"] == event.pk]
