"""The service layer's shape: who told us is all a ``Ctx`` holds; capture and refund rows share one interface."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from antom_django.models import Capture, Payment, PaymentEvent, Refund
from antom_django.services.context import Change, Ctx
from tests.domain.helpers import make_payment

WHEN = datetime(2024, 1, 1, tzinfo=UTC)


def test_ctx_records_who_told_us_and_nothing_else() -> None:
    assert [f.name for f in dataclasses.fields(Ctx)] == ["source", "notification", "user"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Ctx().source = "ADMIN"  # type: ignore[misc]


@pytest.mark.django_db
def test_change_writes_nothing_until_flushed_and_only_once() -> None:
    payment = make_payment(Payment.Status.AUTHORIZED)
    change = Change(payment, Ctx())
    payment.needs_review = True
    change.save("needs_review")
    assert Payment.objects.get(pk=payment.pk).needs_review is False
    assert change.flush("last_inquiry_at") is True
    assert Payment.objects.get(pk=payment.pk).needs_review is True
    assert change.flush() is False, "nothing set since the last flush"


@pytest.mark.parametrize(
    ("ledger", "request_column", "antom_column", "time_column", "kind"),
    [
        (Capture, "capture_request_id", "capture_id", "captured_at", PaymentEvent.Kind.CAPTURE),
        (Refund, "refund_request_id", "refund_id", "refunded_at", PaymentEvent.Kind.REFUND),
    ],
)
def test_ledger_rows_share_one_interface(
    ledger: type[Capture | Refund], request_column: str, antom_column: str, time_column: str, kind: str
) -> None:
    row = ledger(amount=1, currency="SGD")
    row.request_id, row.antom_id, row.settled_at = "req-1", "ANT-1", WHEN
    assert (getattr(row, request_column), getattr(row, antom_column), getattr(row, time_column)) == (
        "req-1",
        "ANT-1",
        WHEN,
    )
    assert (row.request_id, row.antom_id, row.settled_at) == ("req-1", "ANT-1", WHEN)
    assert row.event_kind == kind
    assert row.noun == ledger._meta.model_name
    assert ledger.with_request_id("req-1").children == [(request_column, "req-1")]
    assert ledger.with_antom_id("ANT-1").children == [(antom_column, "ANT-1")]
