"""A double click, or two staff members confirming at once, captures once: two concurrent POSTs of the same
confirmation page, each in its own thread with its own database connection, against the simulator."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from antom_django.models import Capture, Payment
from antom_django.sandbox import SandboxServer
from tests.concurrency import race

from .conftest import authorize, page, version

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("amount", ["10.00", ""], ids=["partial", "full"])
@pytest.mark.parametrize("who", ["double-click", "two-staff"])
def test_two_concurrent_submits_capture_once(
    antom_sandbox: SandboxServer, login: Callable[..., Client], amount: str, who: str
) -> None:
    payment = authorize(antom_sandbox)
    first = login("capture_payment")
    clients = [first, first] if who == "double-click" else [first, login("capture_payment")]
    data = {"version": version(payment), "amount": amount}

    results = race(2, lambda i: clients[i].post(page(payment, "capture"), data).status_code)

    assert results == [302, 302]
    assert Capture.objects.count() == 1
    payment.refresh_from_db()
    expected = 1000 if amount else 4200
    assert payment.captured_amount == expected
    assert payment.status == (Payment.Status.PARTIALLY_CAPTURED if amount else Payment.Status.SUCCEEDED)
