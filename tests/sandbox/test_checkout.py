"""The hosted checkout's test cards: approve, decline, 3-D Secure, processing, expiry, form errors."""

from __future__ import annotations

import urllib.request

import pytest

from antom_django.client import AntomClient
from antom_django.sandbox import TEST_CARDS, SandboxServer
from antom_django.sandbox.receiver import NotificationReceiver

from .conftest import create_session


@pytest.mark.parametrize(
    ("card", "code"),
    [
        ("4000000000000002", "DO_NOT_HONOR"),
        ("4000000000009995", "USER_BALANCE_NOT_ENOUGH"),
        ("4000000000000069", "INVALID_EXPIRATION_DATE"),
        ("4100000000000019", "RISK_REJECT"),
    ],
)
def test_declined_cards(
    sandbox: SandboxServer, client: AntomClient, receiver: NotificationReceiver, card: str, code: str
) -> None:
    session = create_session(client, notify_url=receiver.url)
    outcome = sandbox.pay(session.payment_session_data, card)
    assert (outcome["status"], outcome["code"], outcome["paymentResultCode"]) == ("FAIL", "SDK_PAYMENT_FAIL", code)
    inquiry = client.inquiry_payment(payment_id=outcome["paymentId"])
    assert (inquiry.payment_status, inquiry.payment_result_code) == ("FAIL", code)
    [note] = receiver.wait(1)
    assert note.verified
    assert note.payload["notifyType"] == "PAYMENT_RESULT"
    assert note.payload["result"]["resultStatus"] == "F"
    assert note.payload["result"]["resultCode"] == code
    # A finished session cannot be paid again.
    assert sandbox.pay(session.payment_session_data)["code"] == "SDK_PAYMENT_ERROR"


@pytest.mark.parametrize(("passed", "status"), [(True, "SUCCESS"), (False, "FAIL")])
def test_three_d_secure_challenge(sandbox: SandboxServer, client: AntomClient, passed: bool, status: str) -> None:
    session = create_session(client)
    step = sandbox.pay(session.payment_session_data, "4000000000003220")
    assert (step["status"], step["code"]) == ("CHALLENGE", "SDK_PAYMENT_PROCESSING")
    assert client.inquiry_payment(payment_id=step["paymentId"]).payment_status == "PROCESSING"
    assert sandbox.pay(session.payment_session_data)["code"] == "SDK_PAYMENT_ERROR"
    done = sandbox.challenge(session.payment_session_data, passed)
    assert done["status"] == status
    inquiry = client.inquiry_payment(payment_id=step["paymentId"])
    assert inquiry.payment_status == status
    assert inquiry.raw["paymentResultInfo"]["threeDSResult"]["eci"] == ("05" if passed else "07")
    if not passed:
        assert inquiry.payment_result_code == "THREEDS_AUTHENTICATION_FAILED"


@pytest.mark.parametrize(("card", "final"), [("4000000000000259", "SUCCESS"), ("4000000000000267", "FAIL")])
def test_processing_then_settles(
    sandbox: SandboxServer, client: AntomClient, receiver: NotificationReceiver, card: str, final: str
) -> None:
    session = create_session(client, notify_url=receiver.url, manual=False)
    outcome = sandbox.pay(session.payment_session_data, card)
    assert (outcome["status"], outcome["code"], outcome["paymentStatus"]) == (
        "PROCESSING",
        "SDK_PAYMENT_PROCESSING",
        "PENDING",
    )
    # settle_delay 30 s at the plugin's time scale 0.001 = 30 ms.
    notes = receiver.wait(3 if final == "SUCCESS" else 2)
    assert [n.notify_type for n in notes][:2] == ["PAYMENT_PENDING", "PAYMENT_RESULT"]
    assert notes[0].payload["result"]["resultStatus"] == "S"
    assert notes[1].payload["result"]["resultStatus"] == ("S" if final == "SUCCESS" else "F")
    if final == "SUCCESS":
        assert notes[2].notify_type == "CAPTURE_RESULT"
    assert client.inquiry_payment(payment_id=outcome["paymentId"]).payment_status == final


@pytest.mark.usefixtures("held")
def test_settle_by_hand(sandbox: SandboxServer, client: AntomClient) -> None:
    session = create_session(client)
    outcome = sandbox.pay(session.payment_session_data, "4000000000000259")
    assert client.inquiry_payment(payment_id=outcome["paymentId"]).payment_status == "PENDING"
    sandbox.settle(outcome["paymentId"], "FAIL")
    inquiry = client.inquiry_payment(payment_id=outcome["paymentId"])
    assert (inquiry.payment_status, inquiry.payment_result_code) == ("FAIL", "DO_NOT_HONOR")


def test_expiry_card(sandbox: SandboxServer, client: AntomClient, receiver: NotificationReceiver) -> None:
    session = create_session(client, notify_url=receiver.url)
    outcome = sandbox.pay(session.payment_session_data, "4000000000000119")
    assert (outcome["status"], outcome["paymentResultCode"]) == ("FAIL", "ORDER_IS_CLOSED")
    [note] = receiver.wait(1)
    assert note.payload["result"]["resultCode"] == "ORDER_IS_CLOSED"


def test_session_expires_with_time(sandbox: SandboxServer, client: AntomClient, receiver: NotificationReceiver) -> None:
    session = create_session(client, notify_url=receiver.url)
    sandbox.advance_clock(3601)
    answer = sandbox.pay(session.payment_session_data)
    assert answer["code"] == "SDK_PAYMENT_FAIL"
    assert "expired" in answer["message"]
    inquiry = client.inquiry_payment(payment_id=receiver.wait(1)[0].payload["paymentId"])
    assert (inquiry.payment_status, inquiry.payment_result_code) == ("FAIL", "ORDER_IS_CLOSED")


def test_form_verification(sandbox: SandboxServer, client: AntomClient) -> None:
    session = create_session(client)
    answer = sandbox.pay(
        session.payment_session_data,
        "4242424242424241",
        expiry="13/30",
        cvv="12",
        billing_address={"region": "Singapore"},
    )
    assert answer["code"] == "SDK_FORM_VERIFICATION_FAILED"
    assert set(answer["fields"]) == {"cardNumber", "expiry", "cvv", "billingAddress.region"}
    expired = sandbox.pay(session.payment_session_data, expiry="01/20")
    assert expired["fields"] == {"expiry": "The card has expired."}
    ok = sandbox.pay(session.payment_session_data, billing_address={"region": "SG", "city": "Singapore"})
    assert ok["status"] == "SUCCESS"
    assert client.inquiry_payment(payment_id=ok["paymentId"]).raw["paymentResultInfo"]["avsResultRaw"] == "Y"


def test_checkout_page_and_assets_are_served(sandbox: SandboxServer, client: AntomClient) -> None:
    session = create_session(client)
    with urllib.request.urlopen(session.normal_url) as response:
        page = response.read().decode()
    assert "42.00 SGD" in page
    for number in TEST_CARDS:
        assert f'data-card="{number}"' in page
    for asset in ("ams-checkout.js", "checkout.js", "checkout.css"):
        with urllib.request.urlopen(f"{sandbox.url}/sdk/{asset}") as response:
            assert response.status == 200
            assert len(response.read()) > 500
    with urllib.request.urlopen(f"{sandbox.url}/sdk/ams-checkout.js") as response:
        assert b"AMSCashierPayment" in response.read()
