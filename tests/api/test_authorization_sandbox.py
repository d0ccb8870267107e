"""The simulator's end of an authorization, over HTTP: past ``authExpiryTime`` an uncaptured one is CANCELLED."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from antom_django.client import Amount, AntomClient, AntomFailed
from antom_django.sandbox import SandboxServer
from tests.sandbox.conftest import create_session, new_id
from tests.sandbox.test_admin import call

TTL = 7 * 24 * 3600


@pytest.fixture
def client(antom_sandbox: SandboxServer) -> Iterator[AntomClient]:
    with antom_sandbox.client() as antom:
        yield antom


def authorized(sandbox: SandboxServer, client: AntomClient) -> str:
    session = create_session(client)
    outcome = sandbox.pay(session.payment_session_data)
    assert outcome["status"] == "SUCCESS"
    return str(outcome["paymentId"])


def advance(sandbox: SandboxServer, seconds: float) -> None:
    status, _ = call(sandbox, "POST", "/sandbox/clock", {"advance": seconds})
    assert status == 200


def test_the_stated_expiry_is_when_it_ends(antom_sandbox: SandboxServer, client: AntomClient) -> None:
    payment_id = authorized(antom_sandbox, client)
    stated = client.inquiry_payment(payment_id=payment_id).auth_expiry_time
    assert stated is not None and stated.microsecond == 0
    left = (stated - antom_sandbox.sim.store.clock.now()).total_seconds()
    # The simulator's clock runs on real time too: seconds of slack for a loaded machine between the steps.
    assert TTL - 5 < left <= TTL
    advance(antom_sandbox, left - 5)
    assert client.inquiry_payment(payment_id=payment_id).payment_status == "SUCCESS"
    advance(antom_sandbox, 5)
    assert client.inquiry_payment(payment_id=payment_id).payment_status == "CANCELLED"


def test_an_uncaptured_authorization_is_cancelled_after_its_expiry(
    antom_sandbox: SandboxServer, client: AntomClient
) -> None:
    payment_id = authorized(antom_sandbox, client)
    sent = len(antom_sandbox.notifications())
    advance(antom_sandbox, TTL + 1)
    inquiry = client.inquiry_payment(payment_id=payment_id)
    assert (inquiry.payment_status, inquiry.payment_result_code) == ("CANCELLED", "AUTH_EXPIRED")
    assert inquiry.transactions == (), "Antom lists no cancel of its own"
    status, state = call(antom_sandbox, "GET", f"/sandbox/payments/{payment_id}")
    assert (status, state["paymentStatus"]) == (200, "CANCELLED")
    with pytest.raises(AntomFailed) as refused:
        client.capture(capture_request_id=new_id("cap"), payment_id=payment_id, amount=Amount("SGD", 4200))
    assert refused.value.result_code == "AUTH_EXPIRED"
    time.sleep(0.2)
    assert len(antom_sandbox.notifications()) == sent, "Antom notifies no expiry"


def test_a_partly_captured_authorization_stays_success(antom_sandbox: SandboxServer, client: AntomClient) -> None:
    payment_id = authorized(antom_sandbox, client)
    client.capture(capture_request_id=new_id("cap"), payment_id=payment_id, amount=Amount("SGD", 1000))
    advance(antom_sandbox, TTL + 1)
    inquiry = client.inquiry_payment(payment_id=payment_id)
    assert inquiry.payment_status == "SUCCESS"
    assert [(t.type, t.amount) for t in inquiry.transactions] == [("CAPTURE", Amount("SGD", 1000))]
    with pytest.raises(AntomFailed) as refused:
        client.capture(capture_request_id=new_id("cap"), payment_id=payment_id, amount=Amount("SGD", 3200))
    assert refused.value.result_code == "AUTH_EXPIRED"


def test_a_voided_authorization_stays_voided(antom_sandbox: SandboxServer, client: AntomClient) -> None:
    payment_id = authorized(antom_sandbox, client)
    client.cancel(payment_id=payment_id)
    advance(antom_sandbox, TTL + 1)
    inquiry = client.inquiry_payment(payment_id=payment_id)
    assert (inquiry.payment_status, inquiry.payment_result_code) == ("CANCELLED", "ORDER_IS_CANCELLED")
    assert [t.type for t in inquiry.transactions] == ["CANCEL"]
    with pytest.raises(AntomFailed) as refused:
        client.capture(capture_request_id=new_id("cap"), payment_id=payment_id, amount=Amount("SGD", 4200))
    assert refused.value.result_code == "AUTH_CANCELLED"


def test_auth_ttl_ends_it_in_real_time(antom_sandbox: SandboxServer, client: AntomClient) -> None:
    config = antom_sandbox.sim.config
    default, config.auth_ttl = config.auth_ttl, 1.0
    try:
        payment_id = authorized(antom_sandbox, client)
    finally:
        config.auth_ttl = default
    stated = client.inquiry_payment(payment_id=payment_id).auth_expiry_time
    assert stated is not None
    time.sleep(max(0.0, (stated - antom_sandbox.sim.store.clock.now()).total_seconds()) + 0.05)
    assert client.inquiry_payment(payment_id=payment_id).payment_status == "CANCELLED"


def test_a_payment_antom_captured_never_lapses(antom_sandbox: SandboxServer, client: AntomClient) -> None:
    session = create_session(client, manual=False)
    payment_id = str(antom_sandbox.pay(session.payment_session_data)["paymentId"])
    advance(antom_sandbox, TTL + timedelta(days=30).total_seconds())
    assert client.inquiry_payment(payment_id=payment_id).payment_status == "SUCCESS"
