"""The state table: every allowed transition, every refused one, and Antom's vocabulary."""

from __future__ import annotations

import itertools

import pytest

from antom_django.models import Capture, Payment, Refund
from antom_django.state import (
    CAPTURE_TRANSITIONS,
    PAYMENT_FINAL,
    PAYMENT_TRANSITIONS,
    REFUND_TRANSITIONS,
    Decision,
    decide_capture,
    decide_payment,
    decide_refund,
    ledger_status_from_transaction,
    payment_status_from_inquiry,
    payment_status_from_ledger,
    payment_status_from_notification,
    refund_status_from_notification,
)

P = Payment.Status
C = Capture.Status

# Written out by hand (not derived from the table under test): what each status may become.
ALLOWED = {
    (P.INITIATED, P.PENDING),
    # Not (INITIATED, PROCESSING): no news about a payment whose session answer was lost; it stays retryable.
    (P.INITIATED, P.AUTHORIZED),
    (P.INITIATED, P.PARTIALLY_CAPTURED),
    (P.INITIATED, P.SUCCEEDED),
    (P.INITIATED, P.FAILED),
    (P.INITIATED, P.CANCELLED),
    (P.PENDING, P.PROCESSING),
    (P.PENDING, P.AUTHORIZED),
    (P.PENDING, P.PARTIALLY_CAPTURED),
    (P.PENDING, P.SUCCEEDED),
    (P.PENDING, P.FAILED),
    (P.PENDING, P.CANCELLED),
    (P.PROCESSING, P.AUTHORIZED),
    (P.PROCESSING, P.PARTIALLY_CAPTURED),
    (P.PROCESSING, P.SUCCEEDED),
    (P.PROCESSING, P.FAILED),
    (P.PROCESSING, P.CANCELLED),
    (P.AUTHORIZED, P.PARTIALLY_CAPTURED),
    (P.AUTHORIZED, P.SUCCEEDED),
    (P.AUTHORIZED, P.CANCELLED),
    (P.PARTIALLY_CAPTURED, P.SUCCEEDED),
    (P.SUCCEEDED, P.REFUNDED),
}
# Refused transitions that contradict what we know (money moved vs. did not): flagged for review.
CONFLICTS = {
    (P.AUTHORIZED, P.FAILED),
    (P.PARTIALLY_CAPTURED, P.FAILED),
    (P.PARTIALLY_CAPTURED, P.CANCELLED),
    (P.SUCCEEDED, P.FAILED),
    (P.SUCCEEDED, P.CANCELLED),
    (P.REFUNDED, P.FAILED),
    (P.REFUNDED, P.CANCELLED),
    (P.FAILED, P.AUTHORIZED),
    (P.FAILED, P.PARTIALLY_CAPTURED),
    (P.FAILED, P.SUCCEEDED),
    (P.FAILED, P.REFUNDED),
    (P.CANCELLED, P.PARTIALLY_CAPTURED),
    (P.CANCELLED, P.SUCCEEDED),
    (P.CANCELLED, P.REFUNDED),
    (P.AUTHORIZED, P.REFUNDED),
    (P.PARTIALLY_CAPTURED, P.REFUNDED),
    (P.INITIATED, P.REFUNDED),
    (P.PENDING, P.REFUNDED),
    (P.PROCESSING, P.REFUNDED),
}


@pytest.mark.parametrize(("current", "target"), sorted(itertools.product(P.values, repeat=2)))
def test_every_payment_pair(current: str, target: str) -> None:
    decision = decide_payment(current, target)
    if current == target:
        assert decision is Decision.SAME
    elif (current, target) in ALLOWED:
        assert decision is Decision.APPLY
    elif (current, target) in CONFLICTS:
        assert decision is Decision.CONFLICT
    else:
        assert decision is Decision.STALE, "an older fact after a newer one changes nothing"


def test_table_is_forward_only() -> None:
    for start in PAYMENT_TRANSITIONS:
        for nxt in PAYMENT_TRANSITIONS[start]:
            assert decide_payment(nxt, start) is not Decision.APPLY, f"{nxt} → {start} would go back"
    assert {P.REFUNDED, P.FAILED, P.CANCELLED} == PAYMENT_FINAL


@pytest.mark.parametrize("decide", [decide_capture, decide_refund])
def test_ledger_rows(decide: object) -> None:
    assert decide("PENDING", "SUCCEEDED") is Decision.APPLY
    assert decide("PENDING", "FAILED") is Decision.APPLY
    assert decide("SUCCEEDED", "SUCCEEDED") is Decision.SAME
    assert decide("SUCCEEDED", "PENDING") is Decision.STALE
    assert decide("FAILED", "PENDING") is Decision.STALE
    assert decide("SUCCEEDED", "FAILED") is Decision.CONFLICT
    assert decide("FAILED", "SUCCEEDED") is Decision.CONFLICT


def test_ledger_tables_have_the_same_shape() -> None:
    assert set(CAPTURE_TRANSITIONS) == set(C.values)
    assert set(REFUND_TRANSITIONS) == set(Refund.Status.values)


def test_unknown_status_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown status"):
        decide_payment(P.PENDING, "CAPTURED")


@pytest.mark.parametrize(
    ("antom", "auth", "ours"),
    [
        ("SUCCESS", True, P.AUTHORIZED),
        ("SUCCESS", False, P.SUCCEEDED),
        ("FAIL", True, P.FAILED),
        ("CANCELLED", True, P.CANCELLED),
        ("PROCESSING", True, P.PROCESSING),
        ("PENDING", True, P.PROCESSING),
        ("SOMETHING_NEW", True, None),
    ],
)
def test_inquiry_payment_status(antom: str, auth: bool, ours: str | None) -> None:
    assert payment_status_from_inquiry(antom, is_authorization=auth) == ours


@pytest.mark.parametrize(
    ("notify_type", "status", "auth", "ours"),
    [
        ("PAYMENT_RESULT", "S", True, P.AUTHORIZED),
        ("PAYMENT_RESULT", "S", False, P.SUCCEEDED),
        ("PAYMENT_RESULT", "F", True, P.FAILED),
        ("PAYMENT_RESULT", "U", True, P.PROCESSING),
        ("PAYMENT_PENDING", "S", True, P.PROCESSING),  # never success
        ("PAYMENT_PENDING", "S", False, P.PROCESSING),
        ("PAYMENT_PENDING", "F", True, None),
        ("CAPTURE_RESULT", "S", True, None),
    ],
)
def test_notification_payment_status(notify_type: str, status: str, auth: bool, ours: str | None) -> None:
    assert payment_status_from_notification(notify_type, status, is_authorization=auth) == ours


@pytest.mark.parametrize(
    ("tx_status", "result_status", "ours"),
    [
        ("SUCCESS", "S", C.SUCCEEDED),
        ("SUCCESS", "F", C.FAILED),  # Antom's guide: the result carries the outcome
        ("SUCCESS", "U", None),
        ("PROCESSING", "U", None),
        ("SUCCESS", None, C.SUCCEEDED),
        ("FAIL", None, C.FAILED),
        ("PROCESSING", None, None),
    ],
)
def test_transaction_status(tx_status: str, result_status: str | None, ours: str | None) -> None:
    assert ledger_status_from_transaction(tx_status, result_status) == ours


def test_refund_notification_status() -> None:
    assert refund_status_from_notification("SUCCESS", "S") == Refund.Status.SUCCEEDED
    assert refund_status_from_notification("FAIL", "S") == Refund.Status.FAILED
    assert refund_status_from_notification("", "F") == Refund.Status.FAILED
    assert refund_status_from_notification("PROCESSING", "S") is None


@pytest.mark.parametrize(
    ("current", "captured", "refunded", "final", "target"),
    [
        (P.AUTHORIZED, 0, 0, False, P.AUTHORIZED),
        (P.AUTHORIZED, 1000, 0, False, P.PARTIALLY_CAPTURED),
        (P.AUTHORIZED, 1000, 0, True, P.SUCCEEDED),
        (P.PARTIALLY_CAPTURED, 4200, 0, False, P.SUCCEEDED),
        (P.SUCCEEDED, 4200, 1000, False, P.SUCCEEDED),
        (P.SUCCEEDED, 4200, 4200, False, P.REFUNDED),
        (P.SUCCEEDED, 1000, 1000, False, P.REFUNDED),
        (P.PARTIALLY_CAPTURED, 1000, 1000, False, P.PARTIALLY_CAPTURED),
    ],
)
def test_status_from_ledger(current: str, captured: int, refunded: int, final: bool, target: str) -> None:
    assert (
        payment_status_from_ledger(current, amount=4200, captured=captured, refunded=refunded, final_capture=final)
        == target
    )
