"""Signals: after commit only, once per transition, and a failing receiver harms nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from antom_django import signals
from antom_django.models import Payment, PaymentEvent, Source
from antom_django.services import apply_payment_result, outbox
from tests.domain.conftest import SignalLog
from tests.domain.helpers import make_payment, payment_result

pytestmark = pytest.mark.django_db(transaction=True)
P = Payment.Status


def test_sent_after_commit_with_payment_and_source(signal_log: SignalLog) -> None:
    payment = make_payment()
    with transaction.atomic():
        apply_payment_result(payment, payment_result(payment), source=Source.POLL)
        assert signal_log.sent == [], "nothing is sent before the commit"
    names = signal_log.names()
    assert names == ["payment_status_changed", "payment_authorized"]
    changed = signal_log.sent[0][1]
    assert changed["payment"].pk == payment.pk
    assert (changed["source"], changed["from_status"], changed["to_status"]) == (Source.POLL, P.PENDING, P.AUTHORIZED)


def test_not_sent_when_rolled_back(signal_log: SignalLog) -> None:
    payment = make_payment()
    with pytest.raises(RuntimeError), transaction.atomic():
        apply_payment_result(payment, payment_result(payment))
        raise RuntimeError("the caller's transaction failed")
    payment.refresh_from_db()
    assert payment.status == P.PENDING
    assert signal_log.sent == []


def test_a_raising_receiver_neither_undoes_state_nor_blocks_others(
    signal_log: SignalLog, caplog: pytest.LogCaptureFixture
) -> None:
    later: list[str] = []

    def broken(sender: Any, **kwargs: Any) -> None:
        raise ValueError("shop bug")

    def after(sender: Any, payment: Payment, **kwargs: Any) -> None:
        later.append(payment.payment_request_id)

    signals.payment_authorized.connect(broken, dispatch_uid="broken-receiver")
    signals.payment_authorized.connect(after, dispatch_uid="after-receiver")
    try:
        payment = make_payment()
        apply_payment_result(payment, payment_result(payment))
    finally:
        signals.payment_authorized.disconnect(dispatch_uid="broken-receiver")
        signals.payment_authorized.disconnect(dispatch_uid="after-receiver")
    payment.refresh_from_db()
    assert payment.status == P.AUTHORIZED
    assert later == [payment.payment_request_id], "the receiver after the broken one still ran"
    assert signal_log.count("payment_authorized") == 1
    assert "receiver" in caplog.text and "shop bug" in caplog.text


def test_the_event_carries_the_signals_until_they_are_sent(signal_log: SignalLog) -> None:
    """The outbox columns are written with the transition and cleared once its signals are sent."""
    payment = make_payment()
    with transaction.atomic():
        apply_payment_result(payment, payment_result(payment), source=Source.POLL)
        event = PaymentEvent.objects.get(payment=payment, kind=PaymentEvent.Kind.STATUS)
        assert event.signals == "payment_status_changed,payment_authorized"
        assert event.signal_after is not None and event.signal_after > timezone.now()
    event.refresh_from_db()
    assert (event.signals, event.signal_after) == ("", None)
    assert {kwargs["event"].pk for _, kwargs in signal_log.sent} == {event.pk}, "each signal names its transition"
    assert outbox.resend(now=timezone.now() + timedelta(days=1)) == 0, "nothing is left to send again"


def test_resend_sends_what_a_dead_process_left_once(signal_log: SignalLog) -> None:
    """Signals left in the outbox (their process died after the commit) are sent by one resend, and only once."""
    payment = make_payment()
    with transaction.atomic():
        apply_payment_result(payment, payment_result(payment), source=Source.POLL)
        transaction.get_connection().run_on_commit.clear()  # the process dies: no on-commit work runs
    assert signal_log.sent == []
    event = PaymentEvent.objects.get(payment=payment, kind=PaymentEvent.Kind.STATUS)

    assert outbox.resend() == 0, "before SIGNAL_RESEND_AFTER its process may still be sending"
    later = event.signal_after + timedelta(seconds=1)
    assert outbox.resend(now=later) == 1
    assert signal_log.names() == ["payment_status_changed", "payment_authorized"]
    changed = signal_log.sent[0][1]
    assert (changed["source"], changed["from_status"], changed["to_status"], changed["event"].pk) == (
        Source.POLL,
        P.PENDING,
        P.AUTHORIZED,
        event.pk,
    )
    assert changed["payment"].status == P.AUTHORIZED
    assert outbox.resend(now=later + timedelta(days=1)) == 0
    assert signal_log.count("payment_authorized") == 1


def test_a_claimed_event_is_not_sent_by_a_second_sweep(signal_log: SignalLog) -> None:
    payment = make_payment()
    with transaction.atomic():
        apply_payment_result(payment, payment_result(payment), source=Source.POLL)
        transaction.get_connection().run_on_commit.clear()
    event = PaymentEvent.objects.get(payment=payment, kind=PaymentEvent.Kind.STATUS)
    later = event.signal_after + timedelta(seconds=1)
    # Another sweep claimed it at ``later`` and is sending it (its claim lasts SIGNAL_RESEND_AFTER).
    PaymentEvent.objects.filter(pk=event.pk).update(signal_after=later + timedelta(seconds=60))
    assert outbox.resend(now=later) == 0
    assert signal_log.sent == []


def test_a_failure_while_sending_is_logged_not_raised_and_left_to_the_sweep(
    signal_log: SignalLog, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any) -> dict[str, Any]:
        raise KeyError("detail")

    monkeypatch.setattr(outbox, "arguments", broken)
    payment = make_payment()
    with transaction.atomic():
        apply_payment_result(payment, payment_result(payment), source=Source.POLL)
    payment.refresh_from_db()
    assert payment.status == P.AUTHORIZED, "the caller's committed work stands"
    event = PaymentEvent.objects.get(payment=payment, kind=PaymentEvent.Kind.STATUS)
    assert event.signals and event.signal_after is not None, "still in the outbox for the sweep"
    assert "KeyError" in caplog.text
    monkeypatch.undo()
    assert outbox.resend(now=event.signal_after + timedelta(seconds=1)) == 1
    assert signal_log.names() == ["payment_status_changed", "payment_authorized"]
