"""Notification delivery: the exact acknowledgment, and Antom's resend schedule run time-scaled."""

from __future__ import annotations

import json
import urllib.request
from itertools import pairwise

import pytest

from antom_django.client import Amount, AntomClient
from antom_django.client.types import ACK_BODY
from antom_django.sandbox import NOTIFY_SCHEDULE, SandboxServer
from antom_django.sandbox.notifier import is_ack
from antom_django.sandbox.receiver import NotificationReceiver, Received

from .conftest import FAST_SCALE, create_session


@pytest.mark.parametrize(
    ("status", "body", "acked"),
    [
        (200, ACK_BODY, True),
        (200, b'{ "result": {"resultStatus": "S", "resultMessage": "success", "resultCode": "SUCCESS"} }', True),
        (200, b'{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"Success"}}', False),
        (200, b'{"result":{"resultCode":"SUCCESS","resultStatus":"F","resultMessage":"success"}}', False),
        (200, b"SUCCESS", False),
        (200, b"", False),
        (201, ACK_BODY, False),
        (500, ACK_BODY, False),
    ],
)
def test_what_counts_as_an_acknowledgment(status: int, body: bytes, acked: bool) -> None:
    assert is_ack(status, body) is acked


def test_resent_on_antom_schedule_until_acknowledged(fast: SandboxServer, client: AntomClient) -> None:
    def reply(number: int, received: Received) -> tuple[int, bytes]:
        return (200, ACK_BODY) if number == 4 else (200, b'{"result":{"resultStatus":"S"}}')

    with NotificationReceiver(fast.antom_public_key_b64, reply=reply) as receiver:
        session = create_session(client, notify_url=receiver.url)
        fast.pay(session.payment_session_data)
        [delivery] = fast.wait_for_notifications(1, "PAYMENT_RESULT", timeout=10)
        arrived = receiver.wait(4)
    assert [a.outcome for a in delivery.attempts] == ["rejected", "rejected", "rejected", "acked"]
    assert len({r.body for r in arrived}) == 1  # the same body every time
    assert len({r.headers["request-time"] for r in arrived}) >= 1
    gaps = [b - a for a, b in pairwise(delivery.sent_times)]
    for gap, interval in zip(gaps, NOTIFY_SCHEDULE[1 : len(gaps) + 1], strict=True):
        assert gap >= interval * FAST_SCALE * 0.9


def test_gives_up_after_eight_tries(fast: SandboxServer, client: AntomClient) -> None:
    def reply(number: int, received: Received) -> tuple[int, bytes]:
        return 500, b"busy"

    with NotificationReceiver(fast.antom_public_key_b64, reply=reply) as receiver:
        session = create_session(client, notify_url=receiver.url)
        fast.pay(session.payment_session_data)
        [delivery] = fast.wait_for_notifications(1, "PAYMENT_RESULT", state="gave_up", timeout=15)
        assert len(receiver.received) == 8
    assert [a.number for a in delivery.attempts] == list(range(1, 9))
    assert {a.http_status for a in delivery.attempts} == {500}
    gaps = [b - a for a, b in pairwise(delivery.sent_times)]
    assert len(gaps) == 7
    # The tail of the schedule dominates: 6 h then 15 h.
    assert gaps[-1] > gaps[-2] > gaps[-3] > gaps[0]
    assert sum(gaps) >= sum(NOTIFY_SCHEDULE) * FAST_SCALE * 0.9


def test_unreachable_endpoint_is_retried(fast: SandboxServer, client: AntomClient) -> None:
    session = create_session(client, notify_url="http://127.0.0.1:9/antom/notify/")
    fast.pay(session.payment_session_data)
    [delivery] = fast.wait_for_notifications(1, state="gave_up", timeout=15)
    assert {a.outcome for a in delivery.attempts} == {"error"}
    assert len(delivery.attempts) == 8


def test_payment_capture_and_refund_notifications(
    sandbox: SandboxServer, client: AntomClient, receiver: NotificationReceiver
) -> None:
    session = create_session(client, notify_url=receiver.url)
    outcome = sandbox.pay(session.payment_session_data)
    capture = client.capture(capture_request_id="cap-n", payment_id=outcome["paymentId"], amount=Amount("SGD", 4000))
    refund = client.refund(
        refund_request_id="ref-n",
        payment_id=outcome["paymentId"],
        amount=Amount("SGD", 500),
        notify_url=receiver.url.replace("/antom/notify/", "/antom/refunds/"),
    )
    notes = receiver.wait(3)
    by_type = {n.notify_type: n for n in notes}
    assert set(by_type) == {"PAYMENT_RESULT", "CAPTURE_RESULT", "REFUND_RESULT"}
    assert all(n.verified for n in notes)
    paid = by_type["PAYMENT_RESULT"].payload
    assert paid["paymentId"] == outcome["paymentId"]
    assert paid["authExpiryTime"]
    assert paid["paymentResultInfo"]["cardNo"] == "************4242"
    captured = by_type["CAPTURE_RESULT"].payload
    assert (captured["captureId"], captured["captureRequestId"]) == (capture.capture_id, "cap-n")
    assert captured["captureAmount"] == {"currency": "SGD", "value": "4000"}
    refunded = by_type["REFUND_RESULT"]
    assert refunded.path == "/antom/refunds/"  # refundNotifyUrl beats paymentNotifyUrl
    assert (refunded.payload["refundId"], refunded.payload["refundStatus"]) == (refund.refund_id, "SUCCESS")
    sandbox.wait_for_notifications(3)
    admin = json.loads(_get(f"{sandbox.url}/sandbox/notifications"))
    assert [n["state"] for n in admin["notifications"]] == ["acked", "acked", "acked"]


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url) as response:
        return bytes(response.read())


def test_epoch_millisecond_request_time(
    sandbox: SandboxServer, client: AntomClient, receiver: NotificationReceiver
) -> None:
    sandbox.sim.config.notify_time_format = "millis"
    try:
        session = create_session(client, notify_url=receiver.url)
        sandbox.pay(session.payment_session_data)
        [note] = receiver.wait(1)
    finally:
        sandbox.sim.config.notify_time_format = "iso"
    assert note.headers["request-time"].isdigit()
    assert len(note.headers["request-time"]) == 13
    assert note.verified
