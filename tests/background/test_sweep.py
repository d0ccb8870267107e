"""The sweep settles what no notification ever told us: as the Celery task in a worker, and as
``manage.py antom_sweep`` run from cron."""

from __future__ import annotations

import re
import time

import pytest

from antom_django import services
from antom_django.models import Capture, Payment, PaymentEvent, Source

from .conftest import DECLINED, Background, fault
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
        r"(\d+) notifications applied, (\d+) payments checked, (\d+) changed, (\d+) errors", command.output()
    )
    assert found, command.output()
    return dict(zip(["notifications", "checked", "changed", "errors"], map(int, found.groups()), strict=True))


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
