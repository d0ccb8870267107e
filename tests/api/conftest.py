"""Fixtures for the API tests: payments in given states, users, and the shop's order table."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from antom_django.models import Capture, Payment
from tests.api import shop


@pytest.fixture(autouse=True)
def _orders() -> Iterator[None]:
    shop.ORDERS.clear()
    yield
    shop.ORDERS.clear()


def make_payment(**fields: Any) -> Payment:
    defaults: dict[str, Any] = {
        "payment_request_id": "paymentRequestId01",
        "amount": 4200,
        "currency": "SGD",
        "status": Payment.Status.PENDING,
        "reference_order_id": "order-1",
        "session_id": "session-1",
        "session_data": "session-data-1",
    }
    defaults.update(fields)
    return Payment.objects.create(**defaults)


@pytest.fixture
def pending_payment(db: None) -> Payment:
    """The payment the guide's sample PAYMENT_RESULT notification is about."""
    return make_payment()


@pytest.fixture
def authorized_payment(db: None) -> Payment:
    """Authorized and awaiting the capture the guide's CAPTURE_RESULT samples settle."""
    payment = make_payment(status=Payment.Status.AUTHORIZED, payment_id="20240101123456789XXXX")
    Capture.objects.create(
        payment=payment,
        capture_request_id="captureRequestId01",
        amount=4200,
        currency="SGD",
        status=Capture.Status.PENDING,
    )
    return payment
