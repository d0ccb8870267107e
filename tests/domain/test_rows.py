"""services.rows: the hot path's single-row writes store what the ORM would."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from antom_django.models import Notification, PaymentEvent, Source
from antom_django.services.rows import Upsert, insert_row, insert_values, update_row
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


def test_update_row_where_in_changes_only_a_row_still_in_one_of_the_states() -> None:
    note = Notification.objects.create(body="{}", outcome=Notification.Outcome.APPLIED)
    waiting = ("outcome", [Notification.Outcome.RECEIVED, Notification.Outcome.ERROR])
    assert update_row(Notification, note.pk, {"error": "x"}, where_in=waiting) == 0
    Notification.objects.filter(pk=note.pk).update(outcome=Notification.Outcome.ERROR)
    assert update_row(Notification, note.pk, {"error": "x"}, where_in=waiting) == 1
    note.refresh_from_db()
    assert note.error == "x"


COUNT = Upsert(
    unique="fingerprint",
    assignments=(("received_count", "{table}.received_count + 1"), ("error", "EXCLUDED.error")),
    returning=("received_count", "error"),
)


@pytest.mark.parametrize("returns", [True, False], ids=["returning", "read-back"])
def test_insert_values_with_upsert_counts_a_repeat_on_the_stored_row(
    returns: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without RETURNING (SQLite before 3.35) the row is read back by its unique value.
    monkeypatch.setattr(connection.features, "can_return_columns_from_insert", returns)

    def insert(fingerprint: str, error: str) -> tuple[object, ...]:
        now = timezone.now()
        row = {"body": "{}", "fingerprint": fingerprint, "error": error, "created_at": now, "last_received_at": now}
        columns = ("notify_type", "client_id", "request_time", "signature_verified", "outcome", "received_count")
        defaults = {name: Notification._meta.get_field(name).get_default() for name in columns}
        return tuple(insert_values(Notification, {**defaults, **row}, upsert=COUNT))

    first, again, other = insert("a" * 64, "one"), insert("a" * 64, "two"), insert("b" * 64, "three")
    assert first[1:] == (1, "one")
    assert again == (first[0], 2, "two")
    assert other[0] != first[0] and other[1:] == (1, "three")
    assert Notification.objects.count() == 2
