"""Property: any interleaving, with any duplicates, of the same facts ends in the same state, each signal once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from antom_django.models import Capture, Payment, Refund, Source
from antom_django.services import apply_notification, apply_payment_result
from tests.client.helpers import result
from tests.domain.conftest import SignalLog, run_on_commit_callbacks
from tests.domain.helpers import (
    antom_id,
    capture_result,
    inquiry,
    make_payment,
    money,
    payment_result,
    refund_result,
    store,
    transaction,
)

pytestmark = pytest.mark.django_db
P = Payment.Status

Fact = tuple[str, dict[str, Any]]  # ("notify" | "inquiry", payload)


@dataclass
class Scenario:
    """A payment, the facts Antom will tell about it, and where they must lead."""

    setup: Callable[[], tuple[Payment, list[Fact]]]
    status: str
    captured: int
    refunded: int
    signals: dict[str, int]
    review: bool = False


def auth_then_capture() -> tuple[Payment, list[Fact]]:
    payment = make_payment()
    row = Capture.objects.create(payment=payment, amount=4200, currency="SGD")
    return payment, [
        ("notify", payment_result(payment, notify_type="PAYMENT_PENDING")),
        ("notify", payment_result(payment)),
        ("inquiry", inquiry(payment, "PROCESSING")),
        ("inquiry", inquiry(payment, "SUCCESS")),
        ("notify", capture_result(row)),
        (
            "inquiry",
            inquiry(
                payment,
                "SUCCESS",
                transactions=[
                    transaction("CAPTURE", row.capture_request_id, 4200, tx_id=f"CAP-{row.capture_request_id}")
                ],
            ),
        ),
    ]


def automatic_capture() -> tuple[Payment, list[Fact]]:
    payment = make_payment(is_authorization=False)
    antoms_capture = {
        "notifyType": "CAPTURE_RESULT",
        "captureRequestId": f"auto-{payment.payment_request_id}",
        "captureId": f"CAP-auto-{payment.payment_request_id}",
        "paymentId": antom_id(payment),
        "captureAmount": money(4200),
        "result": result("S"),
    }
    return payment, [
        ("notify", payment_result(payment, notify_type="PAYMENT_PENDING")),
        ("notify", payment_result(payment)),
        ("notify", antoms_capture),
        ("inquiry", inquiry(payment, "SUCCESS")),
    ]


def declined() -> tuple[Payment, list[Fact]]:
    payment = make_payment()
    return payment, [
        ("notify", payment_result(payment, notify_type="PAYMENT_PENDING")),
        ("notify", payment_result(payment, "F")),
        ("inquiry", inquiry(payment, "FAIL")),
        ("inquiry", inquiry(payment, "PROCESSING")),
    ]


def two_equal_partial_refunds() -> tuple[Payment, list[Fact]]:
    payment = make_payment(P.SUCCEEDED, captured_amount=4200)
    Capture.objects.create(payment=payment, amount=4200, currency="SGD", status="SUCCEEDED")
    first = Refund.objects.create(payment=payment, amount=1000, currency="SGD")
    second = Refund.objects.create(payment=payment, amount=1000, currency="SGD")
    settled = [
        transaction("REFUND", r.refund_request_id, 1000, tx_id=f"REF-{r.refund_request_id}") for r in (first, second)
    ]
    return payment, [
        ("notify", refund_result(first)),
        ("notify", refund_result(second)),
        (
            "inquiry",
            inquiry(
                payment,
                "SUCCESS",
                transactions=[
                    transaction("REFUND", first.refund_request_id, 1000, "U", tx_id=f"REF-{first.refund_request_id}")
                ],
            ),
        ),
        ("inquiry", inquiry(payment, "SUCCESS", transactions=settled)),
    ]


def voided() -> tuple[Payment, list[Fact]]:
    payment = make_payment()
    return payment, [
        ("notify", payment_result(payment)),
        ("inquiry", inquiry(payment, "SUCCESS")),
        ("inquiry", inquiry(payment, "CANCELLED")),
        ("inquiry", inquiry(payment, "SUCCESS", transactions=[transaction("VOID", "", 4200)])),
    ]


def with_a_mismatch() -> tuple[Payment, list[Fact]]:
    payment = make_payment()
    return payment, [
        ("notify", payment_result(payment, amount=42)),
        ("notify", payment_result(payment)),
        ("inquiry", inquiry(payment, "SUCCESS")),
    ]


SCENARIOS = {
    "auth_then_capture": Scenario(
        auth_then_capture,
        P.SUCCEEDED,
        4200,
        0,
        {"payment_authorized": 1, "payment_succeeded": 1, "capture_succeeded": 1},
    ),
    "automatic_capture": Scenario(
        automatic_capture, P.SUCCEEDED, 4200, 0, {"payment_succeeded": 1, "capture_succeeded": 1}
    ),
    "declined": Scenario(declined, P.FAILED, 0, 0, {"payment_failed": 1}),
    "two_equal_partial_refunds": Scenario(two_equal_partial_refunds, P.SUCCEEDED, 4200, 2000, {"refund_succeeded": 2}),
    # Whether payment_authorized is sent depends on whether we ever saw the authorization; at most once.
    "voided": Scenario(voided, P.CANCELLED, 0, 0, {"payment_cancelled": 1}),
    "with_a_mismatch": Scenario(
        with_a_mismatch, P.AUTHORIZED, 0, 0, {"payment_authorized": 1, "payment_needs_review": 1}, review=True
    ),
}
ONCE_AT_MOST = ("payment_authorized", "payment_succeeded", "payment_failed", "payment_cancelled")


def apply(payment: Payment, fact: Fact) -> None:
    kind, payload = fact
    if kind == "notify":
        apply_notification(store(payload))
    else:
        apply_payment_result(payment.pk, payload, source=Source.POLL)
    run_on_commit_callbacks()  # what the commit would send


@st.composite
def deliveries(draw: st.DrawFn, n: int) -> list[int]:
    """Every fact at least once, in any order, some repeated anywhere."""
    order = list(draw(st.permutations(range(n))))
    for extra in draw(st.lists(st.integers(0, n - 1), max_size=n)):
        order.insert(draw(st.integers(0, len(order))), extra)
    return order


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_interleaving_ends_the_same(name: str, data: st.DataObject, signal_log: SignalLog) -> None:
    scenario = SCENARIOS[name]
    payment, facts = scenario.setup()
    for index in data.draw(deliveries(len(facts)), label="delivery order"):
        apply(payment, facts[index])
    payment.refresh_from_db()
    assert (payment.status, payment.captured_amount, payment.refunded_amount) == (
        scenario.status,
        scenario.captured,
        scenario.refunded,
    )
    assert payment.needs_review == scenario.review, payment.review_reason
    mine = [(n, kw) for n, kw in signal_log.sent if kw["payment"].pk == payment.pk]
    counts = Counter(n for n, _ in mine)
    for signal, expected in scenario.signals.items():
        assert counts[signal] == expected, (signal, counts)
    for signal in ONCE_AT_MOST:
        assert counts[signal] <= 1
    assert counts["payment_needs_review"] == (1 if scenario.review else 0)
    changes = [(kw["from_status"], kw["to_status"]) for n, kw in mine if n == "payment_status_changed"]
    assert len(changes) == len(set(changes)), "no transition happened twice"
    assert not changes or changes[-1][1] == scenario.status
    assert payment.captures.filter(status="SUCCEEDED").count() == (1 if scenario.captured else 0)
