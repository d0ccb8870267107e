"""The chaos suite's judgments (bench/chaos.py): what the simulator's records mean here, which signals a timeline
calls for, and how the signals sent are judged against it. The run itself is `make bench-smoke`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench.chaos import expected_signals, expected_status, judge_signals, notification_faults
from bench.chaos_plan import AUTO_LATER, AUTO_NOW, BY_HAND, capture_plan

T0 = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)


@dataclass
class Event:
    pk: int
    kind: str
    to_status: str
    source: str = "NOTIFICATION"
    created_at: datetime = T0
    signals: str = ""


def truth(status: str, *ledger: tuple[str, int, str], last: bool = False, amount: int = 4200) -> dict[str, Any]:
    return {
        "inquiry": {"paymentStatus": status, "paymentAmount": {"currency": "SGD", "value": str(amount)}},
        "closedByLastCapture": last,
        "ledger": [
            {"op": op, "requestId": f"{op}-{i}", "amount": v, "status": s} for i, (op, v, s) in enumerate(ledger)
        ],
    }


def test_the_simulators_records_as_our_status() -> None:
    assert expected_status(truth("PROCESSING")) == "PENDING"
    assert expected_status(truth("FAIL")) == "FAILED"
    assert expected_status(truth("CANCELLED")) == "CANCELLED"
    assert expected_status(truth("SUCCESS")) == "AUTHORIZED"
    assert expected_status(truth("SUCCESS", ("capture", 4200, "FAIL"))) == "AUTHORIZED"
    assert expected_status(truth("SUCCESS", ("capture", 2100, "SUCCESS"))) == "PARTIALLY_CAPTURED"
    assert expected_status(truth("SUCCESS", ("capture", 2100, "SUCCESS"), last=True)) == "SUCCEEDED"
    assert expected_status(truth("SUCCESS", ("capture", 4200, "SUCCESS"), ("refund", 1400, "SUCCESS"))) == "SUCCEEDED"
    full_refund = truth("SUCCESS", ("capture", 4200, "SUCCESS"), ("refund", 4200, "SUCCESS"))
    assert expected_status(full_refund) == "REFUNDED"


def test_the_signals_a_timeline_calls_for() -> None:
    events = [
        Event(1, "STATUS", "PENDING"),
        Event(2, "STATUS", "AUTHORIZED"),
        Event(3, "CAPTURE", "SUCCEEDED"),
        Event(4, "STATUS", "SUCCEEDED"),
        Event(5, "REFUND", "FAILED"),
        Event(6, "REQUEST", ""),
    ]
    assert expected_signals(events) == {
        "payment_status_changed": 3,
        "payment_authorized": 1,
        "capture_succeeded": 1,
        "payment_succeeded": 1,
        "refund_failed": 1,
    }


def test_signals_are_judged_per_transition_and_a_resend_is_counted_apart() -> None:
    events = [Event(1, "STATUS", "PENDING"), Event(2, "STATUS", "AUTHORIZED")]
    sent = Counter({(1, "payment_status_changed"): 1, (2, "payment_status_changed"): 1, (2, "payment_authorized"): 1})
    assert judge_signals(events, sent) == []
    # Sent again by a sweep for the same event (its sender was killed before marking it sent): one transition.
    assert judge_signals(events, sent + Counter({(2, "payment_status_changed"): 1})) == []
    missing = sent - Counter({(2, "payment_authorized"): 1})
    assert [p for p, _ in judge_signals(events, missing)] == ["signals differ from the timeline's transitions"]
    twice = sent + Counter({(9, "payment_authorized"): 1})
    assert [p for p, _ in judge_signals(events, twice)] == [
        "signals differ from the timeline's transitions",
        "signals sent for an event not on the payment's timeline",
    ]
    stuck = [events[0], Event(2, "STATUS", "AUTHORIZED", signals="payment_authorized")]
    assert [p for p, _ in judge_signals(stuck, sent)] == ["signals left unsent in the outbox"]


def test_faults_and_capture_plans_follow_the_payment_request_id() -> None:
    ids = [f"pay_{i:032x}" for i in range(2000)]
    plans = [capture_plan(i) for i in ids]
    assert plans == [capture_plan(i) for i in ids]
    assert 0.25 < plans.count(AUTO_NOW) / 2000 < 0.35
    assert 0.10 < plans.count(AUTO_LATER) / 2000 < 0.20
    assert 0.50 < plans.count(BY_HAND) / 2000 < 0.60
    faults = [notification_faults(i) for i in ids]
    assert sum("duplicate" in f for f in faults) / 2000 >= 0.30
    assert sum("drop=all" in f for f in faults) / 2000 >= 0.10
