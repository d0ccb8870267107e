"""Indexes on the tables every notification writes: exactly those queries need, and uniqueness intact."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction

from antom_django.models import Notification, Payment, PaymentEvent

pytestmark = pytest.mark.django_db

# Indexed column tuples per table, one entry per index (primary key and unique constraints included).
# A new db_index=True, unique=True or PostgreSQL "_like" twin adds an entry and fails the test below:
# each index is written on every notification, so add one here only with the query that needs it.
EXPECTED: dict[type[models.Model], list[tuple[str, ...]]] = {
    Payment: [
        (
            "auth_expires_at",
        ),  # admin list filter "authorization expiry" (admin.filters.ExpiringFilter), partial: capturable
        ("cancel_requested_at",),  # admin list filter "stuck longer than": cancels in flight, partial: marked rows
        ("created_at",),  # admin payment list: its order (-created_at) and date hierarchy
        ("currency", "created_at"),  # admin list filter "currency", read in the list's order
        ("id",),
        ("next_check_at",),  # the background work's claim (services.schedule.claim), partial: due rows only
        ("order_content_type_id", "order_object_id"),
        ("payment_id",),
        ("payment_request_id",),
        ("reference_order_id",),
        ("status", "created_at"),  # admin list filters "status" and "stuck longer than" (pending statuses)
        ("status", "updated_at"),
        ("updated_at",),  # partial (needs_review): also the admin list filter "needs review"
        ("user_id",),
    ],
    Notification: [
        ("created_at",),
        ("dedupe_key",),
        ("fingerprint",),
        ("id",),
        ("id",),
        ("id",),
        # admin notification list filter "outcome" and the reconciliation page, partial: the rare outcomes only
        # (no row is inserted with one, so the notify INSERT never writes it)
        ("outcome", "created_at"),
        ("payment_id", "created_at"),
    ],
    PaymentEvent: [
        ("capture_id",),
        ("id",),
        ("notification_id",),
        ("payment_id", "created_at"),
        ("refund_id",),
        ("signal_after",),  # the signal outbox's resend (services.outbox.resend), partial: unsent signals only
        ("user_id",),
    ],
}

PARTIAL = [
    "antom_payment_review_idx",
    "antom_payment_due_idx",
    "antom_payment_expiry_idx",
    "antom_payment_cancel_idx",
    "antom_notif_pending_idx",
    "antom_notif_rejected_idx",
    "antom_notif_outcome_idx",
    "antom_event_capture_idx",
    "antom_event_refund_idx",
    "antom_event_notif_idx",
    "antom_event_user_idx",
    "antom_event_outbox_idx",
]


def constraints(model: type[models.Model]) -> dict[str, dict[str, object]]:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, model._meta.db_table)


def indexed(model: type[models.Model]) -> list[tuple[str, ...]]:
    """The column tuple of every index the database has on the model's table (unique and primary too)."""
    found = constraints(model).values()
    return sorted(tuple(c["columns"]) for c in found if c["index"] or c["unique"] or c["primary_key"])  # type: ignore[arg-type]


def index_definition(name: str) -> str:
    """The database's own DDL for the index ``name``, as it reports it."""
    query = {
        "postgresql": "SELECT indexdef FROM pg_indexes WHERE indexname = %s",
        "sqlite": "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = %s",
    }[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(query, [name])
        row = cursor.fetchone()
    assert row is not None, name
    return str(row[0])


def make_payment(**fields: object) -> Payment:
    values: dict[str, object] = {"amount": 4200, "currency": "SGD", "reference_order_id": "order-1"}
    values.update(fields)
    return Payment.objects.create(**values)


@pytest.mark.parametrize("model", list(EXPECTED), ids=lambda m: m.__name__)
def test_hot_tables_carry_only_the_indexes_queries_need(model: type[models.Model]) -> None:
    assert indexed(model) == EXPECTED[model]


@pytest.mark.parametrize("model", list(EXPECTED), ids=lambda m: m.__name__)
def test_no_pattern_ops_twin_indexes(model: type[models.Model]) -> None:
    assert [name for name in constraints(model) if name.endswith("_like")] == []


@pytest.mark.parametrize("name", PARTIAL)
def test_partial_indexes_hold_only_their_rows(name: str) -> None:
    assert " WHERE " in index_definition(name).upper()


def test_duplicate_payment_request_id_is_refused_by_the_database() -> None:
    first = make_payment()
    with pytest.raises(IntegrityError), transaction.atomic():
        make_payment(payment_request_id=first.payment_request_id)


def test_duplicate_payment_request_id_fails_model_validation() -> None:
    first = make_payment()
    twin = Payment(payment_request_id=first.payment_request_id, amount=100, currency="SGD", reference_order_id="o-2")
    with pytest.raises(ValidationError) as caught:
        twin.full_clean()
    assert list(caught.value.message_dict) == ["payment_request_id"]
    assert caught.value.error_dict["payment_request_id"][0].code == "unique"


def test_duplicate_dedupe_key_is_refused_and_unset_keys_are_not() -> None:
    for _ in range(2):
        Notification.objects.create(body="{}", dedupe_key=None)
    Notification.objects.create(body="{}", dedupe_key="PAYMENT_RESULT:1:S")
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(body="{}", dedupe_key="PAYMENT_RESULT:1:S")
    assert Notification.objects.filter(dedupe_key__isnull=True).count() == 2


def test_duplicate_fingerprint_is_refused_and_unset_ones_are_not() -> None:
    for _ in range(2):
        Notification.objects.create(body="{}", fingerprint=None)
    Notification.objects.create(body="{}", fingerprint="f" * 64)
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(body="{}", fingerprint="f" * 64)
    assert Notification.objects.filter(fingerprint__isnull=True).count() == 2
