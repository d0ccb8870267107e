"""Signals: after commit only, once per transition, and a failing receiver harms nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from antom_django import signals
from antom_django.models import Payment, Source
from antom_django.services import apply_payment_result
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
