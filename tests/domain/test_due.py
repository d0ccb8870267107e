"""The due queue (services.schedule / services.due) and the sweep, against the sandbox simulator over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from antom_django import services
from antom_django.client import Amount, AntomClient
from antom_django.models import Payment, PaymentEvent, Source
from antom_django.sandbox import SandboxServer
from antom_django.services import due, schedule
from antom_django.services.sweep import sweep
from tests.concurrency import race
from tests.domain.helpers import make_payment

pytestmark = pytest.mark.django_db(transaction=True)
P = Payment.Status
PROCESSING_CARD = "4000000000000259"  # the simulator keeps it PROCESSING until settled


class Counting:
    """How many inquiryPayment calls the ``antom`` client made."""

    inquiries = 0


@pytest.fixture
def antom(antom_sandbox: SandboxServer) -> Iterator[AntomClient]:
    """A client of the simulator counting its inquiryPayment calls (in ``Counting.inquiries``)."""
    Counting.inquiries = 0
    client = antom_sandbox.client()
    ask = client.inquiry_payment

    def counted(**kwargs: Any) -> Any:
        Counting.inquiries += 1
        return ask(**kwargs)

    client.inquiry_payment = counted  # type: ignore[method-assign]
    yield client
    client.close()


@pytest.fixture(autouse=True)
def processing_stays(antom_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The processing card stays PROCESSING until a test settles it: at the fixture's time scale the simulator
    settled it 30 ms after paying, so a slow first inquiry (a loaded machine) already saw it AUTHORIZED."""
    monkeypatch.setattr(antom_sandbox.sim.config, "settle_delay", 3600.0)


def started(antom: AntomClient, card: str | None = None, server: SandboxServer | None = None) -> Payment:
    """A payment with a live session at the simulator, paid with ``card`` when given (its notification lost)."""
    payment = services.start_payment(
        amount=Amount("SGD", 4200), reference_order_id="order-1", description="x", client=antom
    )
    if card is not None and server is not None:
        assert server.pay(payment.session_data, card)["paymentId"]
    return payment


def quiet(payment: Payment, seconds: float) -> None:
    """Nothing happened to it, and nobody asked Antom about it, for ``seconds``."""
    when = timezone.now() - timedelta(seconds=seconds)
    Payment.objects.filter(pk=payment.pk).update(updated_at=when, last_inquiry_at=when)


# -- the due-time column --------------------------------------------------------------------------------------


def test_wake_only_brings_a_due_time_forward() -> None:
    payment = make_payment(P.AUTHORIZED)
    now = timezone.now()
    Payment.objects.filter(pk=payment.pk).update(next_check_at=None)
    assert schedule.wake(payment, now + timedelta(seconds=10))
    assert not schedule.wake(payment, now + timedelta(seconds=20))
    assert schedule.wake(payment.pk, now)
    payment.refresh_from_db()
    assert payment.next_check_at == now


def test_a_claim_takes_due_rows_for_a_lease_and_release_keeps_a_wake_from_meanwhile() -> None:
    now = timezone.now()
    due_now = [make_payment(P.PROCESSING, next_check_at=now - timedelta(seconds=i)) for i in range(3)]
    later = make_payment(P.PROCESSING, next_check_at=now + timedelta(seconds=60))
    make_payment(P.SUCCEEDED, next_check_at=None)
    taken = schedule.claim(10, now=now)
    assert taken.ids == [p.pk for p in reversed(due_now)]  # the most overdue first
    assert schedule.claim(10, now=now).ids == []  # leased
    assert set(Payment.objects.filter(pk__in=taken.ids).values_list("next_check_at", flat=True)) == {taken.until}
    schedule.wake(due_now[0], now)  # something happened while the worker held it
    for pk in taken.ids:
        schedule.release(pk, taken.until, None)
    assert Payment.objects.get(pk=due_now[0].pk).next_check_at == now
    assert Payment.objects.get(pk=due_now[1].pk).next_check_at is None
    assert Payment.objects.get(pk=later.pk).next_check_at == now + timedelta(seconds=60)


@pytest.mark.postgres
def test_two_workers_never_claim_the_same_payment() -> None:
    now = timezone.now()
    for i in range(40):
        make_payment(P.PROCESSING, next_check_at=now - timedelta(milliseconds=i), reference_order_id=f"o-{i}")
    claims = race(4, lambda _: schedule.claim(7).ids)
    taken = [pk for ids in claims for pk in ids]
    assert len(taken) == len(set(taken)) == 28


# -- polling -----------------------------------------------------------------------------------------------------


def test_a_lost_payment_result_is_settled_by_polling(antom_sandbox: SandboxServer, antom: AntomClient) -> None:
    antom_sandbox.set_faults(notify_drop=-1)
    payment = started(antom, "4242424242424242", antom_sandbox)
    Payment.objects.filter(pk=payment.pk).update(next_check_at=timezone.now())
    counts = due.run_due(client=antom)
    assert counts["tended"] == 1
    payment.refresh_from_db()
    assert payment.status == P.AUTHORIZED
    event = payment.events.get(kind=PaymentEvent.Kind.STATUS, to_status=P.AUTHORIZED)
    assert event.source == Source.POLL


def test_polling_keeps_the_cadence_while_processing_then_stops_at_a_final_status(
    antom_sandbox: SandboxServer, antom: AntomClient
) -> None:
    antom_sandbox.set_faults(notify_drop=-1)
    payment = started(antom, PROCESSING_CARD, antom_sandbox)
    now = timezone.now()
    next_at = due.tend(payment, client=antom, now=now)
    payment.refresh_from_db()
    assert payment.status == P.PROCESSING
    assert next_at == now + timedelta(seconds=2)
    assert Counting.inquiries == 1
    antom_sandbox.settle(payment.payment_id)
    payment.last_inquiry_at = None
    next_at = due.tend(payment, client=antom, now=now + timedelta(seconds=2))
    payment.refresh_from_db()
    assert payment.status == P.AUTHORIZED
    assert payment.auth_expires_at is not None
    assert next_at == payment.auth_expires_at - timedelta(days=1), "next: the authorization's expiry margin"
    assert Counting.inquiries == 2
    assert due.tend(payment, client=antom) == next_at
    assert Counting.inquiries == 2, "no inquiry about a settled payment"


def test_a_payment_a_notification_settled_is_not_asked_about(antom_sandbox: SandboxServer, antom: AntomClient) -> None:
    payment = started(antom)
    Payment.objects.filter(pk=payment.pk).update(status=P.FAILED)
    payment.refresh_from_db()
    assert due.tend(payment, client=antom) is None
    assert Counting.inquiries == 0


def test_an_inquiry_asked_a_moment_ago_by_someone_else_is_not_repeated(
    antom_sandbox: SandboxServer, antom: AntomClient
) -> None:
    payment = started(antom)
    payment.last_inquiry_at = timezone.now()
    now = timezone.now()
    assert due.tend(payment, client=antom, now=now) == now + timedelta(seconds=2)
    assert Counting.inquiries == 0


def test_polling_ends_with_the_window_looks_once_more_when_the_session_closes_then_hands_over(
    antom_sandbox: SandboxServer, antom: AntomClient
) -> None:
    payment = started(antom)
    window_end = payment.created_at + timedelta(seconds=900)
    closes = services.sessions.session_closes_at(payment)
    assert closes is not None and closes > window_end  # the simulator's sessions last an hour
    assert due.poll_until(payment) == window_end
    assert due.tend(payment, client=antom, now=window_end + timedelta(seconds=1)) == closes
    assert Counting.inquiries == 0
    antom_sandbox.expire(payment.session_data)
    payment.last_inquiry_at = None
    assert due.tend(payment, client=antom, now=closes + timedelta(seconds=1)) is None
    assert Counting.inquiries == 1


def test_a_payment_stuck_past_the_follow_up_window_is_flagged_once(
    antom_sandbox: SandboxServer, antom: AntomClient
) -> None:
    payment = started(antom, PROCESSING_CARD, antom_sandbox)
    later = timezone.now() + timedelta(days=2)
    for _ in range(2):
        payment.last_inquiry_at = None
        due.tend(payment, client=antom, now=later, sweeping=True)
        payment.refresh_from_db()
    assert payment.needs_review
    assert "No final result from Antom 24 hours" in payment.review_reason
    assert payment.events.filter(kind=PaymentEvent.Kind.REVIEW).count() == 1


def test_a_payment_whose_session_answer_was_lost_is_closed_once_no_session_can_be_alive(
    antom_sandbox: SandboxServer, antom: AntomClient
) -> None:
    payment = make_payment(P.INITIATED)
    closes = due.initiated_closes_at(payment)
    assert closes == payment.created_at + timedelta(seconds=3600 + 60)
    assert due.tend(payment, client=antom) == closes
    due.tend(payment, client=antom, now=closes + timedelta(seconds=1))
    payment.refresh_from_db()
    assert payment.status == P.CANCELLED  # Antom has no such payment: closed here


# -- the sweep ---------------------------------------------------------------------------------------------------


def test_the_sweep_settles_quiet_payments_whose_notifications_were_all_dropped(
    antom_sandbox: SandboxServer, antom: AntomClient
) -> None:
    antom_sandbox.set_faults(notify_drop=-1)
    paid = started(antom, "4242424242424242", antom_sandbox)
    fresh = make_payment(P.PENDING, reference_order_id="order-2")
    settled = make_payment(P.SUCCEEDED, reference_order_id="order-3")
    # Cancelled by an older release, which left the mark of the cancel it sent: nothing is in flight.
    cancelled = make_payment(P.CANCELLED, reference_order_id="order-4", cancel_requested_at=timezone.now())
    for payment in (paid, settled, cancelled):
        quiet(payment, 600)
    counts = sweep(client=antom)
    assert (counts["checked"], counts["changed"]) == (1, 1)
    paid.refresh_from_db()
    assert paid.status == P.AUTHORIZED
    assert paid.events.get(to_status=P.AUTHORIZED).source == Source.SWEEP
    fresh.refresh_from_db()
    assert fresh.status == P.PENDING
    assert sweep(client=antom)["checked"] == 0  # asked a moment ago


@override_settings(ANTOM={**settings.ANTOM, "SWEEP_INTERVAL": 1.0})
def test_the_sweep_command_prints_what_it_did(antom_sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]) -> None:
    from django.core.management import call_command

    call_command("antom_sweep")
    assert (
        "antom sweep: 0 notifications applied, 0 events' signals sent, 0 payments checked, 0 changed, 0 errors"
        in capsys.readouterr().out
    )


def test_still_processing_costs_one_update_after_the_first_answer(
    antom_sandbox: SandboxServer, antom: AntomClient
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    antom_sandbox.set_faults(notify_drop=-1)
    payment = started(antom, PROCESSING_CARD, antom_sandbox)
    now = timezone.now()
    due.tend(payment, client=antom, now=now)  # the first answer brings the paymentId and the card
    payment.refresh_from_db()
    assert payment.status == P.PROCESSING and payment.payment_id and payment.card_brand
    payment.last_inquiry_at = None
    with CaptureQueriesContext(connection) as queries:
        assert due.tend(payment, client=antom, now=now + timedelta(seconds=2)) == now + timedelta(seconds=4)
    sql = [q["sql"] for q in queries.captured_queries]
    assert len(sql) == 1 and sql[0].startswith("UPDATE") and "last_inquiry_at" in sql[0], sql
    assert Counting.inquiries == 2


@pytest.mark.postgres
def test_threads_share_the_due_payments_and_each_is_tended_once(
    antom_sandbox: SandboxServer, antom: AntomClient
) -> None:
    antom_sandbox.set_faults(notify_drop=-1)
    payments = [started(antom, PROCESSING_CARD, antom_sandbox) for _ in range(12)]
    Payment.objects.update(next_check_at=timezone.now())
    counts = due.run_due(client=antom, threads=4, batch=8)
    rows = Payment.objects.filter(pk__in=[p.pk for p in payments])
    assert {p.status for p in rows} == {P.PROCESSING}
    assert counts == {"tended": 12}
    assert Counting.inquiries == 12
    assert all(p.next_check_at is not None and p.next_check_at > timezone.now() for p in rows)


def test_a_run_keeps_to_its_duration_under_a_backlog(antom_sandbox: SandboxServer, antom: AntomClient) -> None:
    import time as clock

    for i in range(30):
        make_payment(P.SUCCEEDED, next_check_at=timezone.now(), reference_order_id=f"o-{i}")
    started_at = clock.monotonic()
    counts = due.run_due(client=antom, duration=0.001, batch=5)
    assert clock.monotonic() - started_at < 5
    assert counts["tended"] == 5, "one claim, then the run is over"
    assert due.run_due(client=antom, batch=5)["tended"] == 25, "duration 0: everything due now"
