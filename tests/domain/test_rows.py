"""services.rows: the hot path's single-row writes store what the ORM would."""

from __future__ import annotations

import pytest
from django.utils import timezone

from antom_django.models import Notification, PaymentEvent, Source
from antom_django.services.rows import insert_row, update_row
from tests.domain.helpers import make_payment

pytestmark = pytest.mark.django_db


def test_insert_row_applies_defaults_and_auto_now_add() -> None:
    payment = make_payment()
    event = PaymentEvent(payment=payment, kind=PaymentEvent.Kind.STATUS, source=Source.API, detail={"a": [1, "x"]})
    insert_row(event)
    assert event.pk is not None and not event._state.adding
    stored = PaymentEvent.objects.get(pk=event.pk)
    assert (stored.payment, stored.detail, stored.from_status, stored.notification) == (
        payment,
        {"a": [1, "x"]},
        "",
        None,
    )
    assert stored.created_at == event.created_at is not None


def test_update_row_writes_only_the_named_columns() -> None:
    payment = make_payment()
    note = Notification.objects.create(body="{}", notify_type="PAYMENT_RESULT", error="kept?")
    when = timezone.now()
    changed = update_row(
        Notification,
        note.pk,
        {"outcome": Notification.Outcome.APPLIED, "payment": payment.pk, "processed_at": when, "dedupe_key": "k"},
    )
    assert changed == 1
    note.refresh_from_db()
    assert (note.outcome, note.payment, note.processed_at, note.dedupe_key) == ("APPLIED", payment, when, "k")
    assert (note.body, note.error) == ("{}", "kept?")
    assert update_row(Notification, note.pk + 1000, {"error": "x"}) == 0
