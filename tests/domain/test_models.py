"""The models: request ids, money invariants in the database, append-only timeline, order link."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from antom_django.models import Capture, Notification, Payment, PaymentEvent, Refund, Source

pytestmark = pytest.mark.django_db


def make_payment(**kwargs: object) -> Payment:
    fields: dict[str, object] = {"amount": 4200, "currency": "SGD", "reference_order_id": "order-1"}
    fields.update(kwargs)
    return Payment.objects.create(**fields)


def test_request_ids_are_generated_and_unique() -> None:
    a, b = make_payment(), make_payment()
    assert a.payment_request_id.startswith("pay_")
    assert a.payment_request_id != b.payment_request_id
    assert len(a.payment_request_id) <= 64
    cap = Capture.objects.create(payment=a, amount=100, currency="SGD")
    ref = Refund.objects.create(payment=a, amount=100, currency="SGD")
    assert cap.capture_request_id.startswith("cap_")
    assert ref.refund_request_id.startswith("ref_")


def test_new_payment_is_initiated_and_pending() -> None:
    payment = make_payment()
    assert payment.status == Payment.Status.INITIATED
    assert payment.is_pending
    assert not payment.is_final
    assert str(payment.money) == "42.00 SGD"


def test_database_refuses_capturing_more_than_the_amount() -> None:
    payment = make_payment()
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(captured_amount=4201)


def test_database_refuses_refunding_more_than_captured() -> None:
    payment = make_payment(captured_amount=1000)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(refunded_amount=1001)


def test_database_refuses_zero_capture() -> None:
    payment = make_payment()
    with pytest.raises(IntegrityError), transaction.atomic():
        Capture.objects.create(payment=payment, amount=0, currency="SGD")


def test_events_are_append_only() -> None:
    payment = make_payment()
    event = PaymentEvent.objects.create(payment=payment, kind=PaymentEvent.Kind.STATUS, source=Source.API)
    event.detail = {"edited": True}
    with pytest.raises(ValueError, match="append-only"):
        event.save()


def test_generic_order_link() -> None:
    user = get_user_model().objects.create_user("buyer")
    payment = make_payment(order=user, user=user)
    payment.refresh_from_db()
    assert payment.order == user
    assert payment.order_object_id == str(user.pk)


def test_notification_dedupe_key_is_unique_but_may_be_empty() -> None:
    Notification.objects.create(body="{}")
    Notification.objects.create(body="{}")
    Notification.objects.create(body="{}", dedupe_key="PAYMENT_RESULT:1:S")
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(body="{}", dedupe_key="PAYMENT_RESULT:1:S")
    assert Notification.objects.get(dedupe_key="PAYMENT_RESULT:1:S").payload() == {}
