"""Fault injection, per request (header) and per run (admin endpoint, CLI flags)."""

from __future__ import annotations

import argparse
import json
import time
import urllib.request

import pytest
import requests

from antom_django.client import Amount, AntomClient, AntomFailed, AntomServerError, AntomUnknownResult
from antom_django.sandbox import Faults, SandboxServer
from antom_django.sandbox.cli import add_arguments, config_from
from antom_django.sandbox.faults import FaultSpecError
from antom_django.sandbox.receiver import NotificationReceiver

from .conftest import create_session


def faulty(sandbox: SandboxServer, spec: str) -> AntomClient:
    """A client whose every request carries ``X-Antom-Sandbox-Fault: spec``."""
    session = requests.Session()
    session.headers["X-Antom-Sandbox-Fault"] = spec
    return sandbox.client(session=session)


def test_latency(sandbox: SandboxServer) -> None:
    with faulty(sandbox, "latency=0.3") as client:
        started = time.monotonic()
        create_session(client)
        assert time.monotonic() - started >= 0.3


def test_http_5xx_happens_before_anything(sandbox: SandboxServer, client: AntomClient) -> None:
    with faulty(sandbox, "http=503") as broken, pytest.raises(AntomServerError) as exc:
        create_session(broken, request_id="pay-5xx")
    assert exc.value.http_status == 503
    with pytest.raises(AntomFailed):
        client.inquiry_payment(payment_request_id="pay-5xx")


def test_unknown_result_after_the_money_moved(sandbox: SandboxServer, client: AntomClient) -> None:
    session = create_session(client)
    payment_id = sandbox.pay(session.payment_session_data)["paymentId"]
    with faulty(sandbox, "result=U") as flaky, pytest.raises(AntomUnknownResult) as exc:
        flaky.capture(capture_request_id="cap-u", payment_id=payment_id, amount=Amount("SGD", 4200))
    assert exc.value.result_code == "UNKNOWN_EXCEPTION"
    retried = client.capture(capture_request_id="cap-u", payment_id=payment_id, amount=Amount("SGD", 4200))
    [capture] = client.inquiry_payment(payment_id=payment_id).transactions
    assert capture.id == retried.capture_id  # captured once, the retry saw the same capture


def test_client_retries_through_unknown_results(sandbox: SandboxServer) -> None:
    sandbox.set_faults(unknown_rate=1.0, operations=("createPaymentSession",))
    with sandbox.client(max_retries=2, retry_backoff=0.01) as client, pytest.raises(AntomUnknownResult):
        create_session(client, request_id="pay-retried")
    sandbox.set_faults(Faults())
    with sandbox.client() as client:
        assert client.inquiry_payment(payment_request_id="pay-retried").payment_status == "PROCESSING"


def test_run_faults_through_the_admin_endpoint(sandbox: SandboxServer, client: AntomClient) -> None:
    def admin(method: str, body: dict[str, object] | None = None) -> dict[str, object]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{sandbox.url}/sandbox/faults", data=data, method=method)
        with urllib.request.urlopen(request) as response:
            return dict(json.loads(response.read()))

    state = admin("POST", {"http_error_rate": 1.0, "http_error_status": 502, "operations": ["inquiryPayment"]})
    assert state["operations"] == ["inquiryPayment"]
    session = create_session(client)  # not in the operations list
    with pytest.raises(AntomServerError):
        client.inquiry_payment(payment_id="whatever")
    assert admin("DELETE")["http_error_rate"] == 0.0
    assert sandbox.pay(session.payment_session_data)["status"] == "SUCCESS"


def test_injected_refusal_answers_f_and_does_nothing(sandbox: SandboxServer, client: AntomClient) -> None:
    session = create_session(client, request_id="pay-refused")
    with faulty(sandbox, "result=F:ORDER_NOT_EXIST, ops=inquiryPayment") as refusing:
        with pytest.raises(AntomFailed) as exc:
            refusing.inquiry_payment(payment_request_id="pay-refused")
        assert exc.value.result_code == "ORDER_NOT_EXIST"
    with faulty(sandbox, "result=F:PARAM_ILLEGAL") as refusing, pytest.raises(AntomFailed) as exc:
        refusing.cancel(payment_request_id="pay-refused")
    assert exc.value.result_code == "PARAM_ILLEGAL"
    # Neither refusal touched the payment: it is still open and payable.
    assert client.inquiry_payment(payment_request_id="pay-refused").payment_status == "PROCESSING"
    assert sandbox.pay(session.payment_session_data)["status"] == "SUCCESS"


def test_bad_fault_specs() -> None:
    with pytest.raises(FaultSpecError):
        Faults.from_header("explode")
    with pytest.raises(FaultSpecError):
        Faults.from_header("latency=soon")
    with pytest.raises(FaultSpecError):
        Faults.from_json({"http_error_rate": 2})
    with pytest.raises(FaultSpecError):
        Faults.from_json({"http_error_status": 404})
    for spec in ("result=F:", "result=F:order_not_exist", "result=F:" + "A" * 65, "result=F:NOT EXIST"):
        with pytest.raises(FaultSpecError):
            Faults.from_header(spec)
    assert Faults.from_header("result=F:ORDER_NOT_EXIST, ops=inquiryPayment") == Faults(
        refuse_code="ORDER_NOT_EXIST", operations=("inquiryPayment",)
    )
    assert Faults.from_header("drop=all, duplicate, reorder, ops=capture+refund") == Faults(
        notify_drop=-1, notify_duplicate=True, notify_reorder=True, operations=("capture", "refund")
    )


def test_bad_fault_header_is_param_illegal(sandbox: SandboxServer) -> None:
    with faulty(sandbox, "explode") as client, pytest.raises(AntomFailed) as exc:
        create_session(client)
    assert exc.value.result_code == "PARAM_ILLEGAL"


def test_dropped_notifications_are_resent(
    fast: SandboxServer, client: AntomClient, receiver: NotificationReceiver
) -> None:
    with faulty(fast, "drop=2") as dropping:
        session = create_session(dropping, notify_url=receiver.url)  # the session's notifications inherit it
    fast.pay(session.payment_session_data)
    [delivery] = fast.wait_for_notifications(1, "PAYMENT_RESULT")
    assert [a.outcome for a in delivery.attempts] == ["dropped", "dropped", "acked"]
    assert len(receiver.received) == 1


def test_all_dropped(fast: SandboxServer, client: AntomClient, receiver: NotificationReceiver) -> None:
    fast.set_faults(notify_drop=-1)
    session = create_session(client, notify_url=receiver.url)
    fast.pay(session.payment_session_data)
    [delivery] = fast.wait_for_notifications(1, "PAYMENT_RESULT", state="gave_up", timeout=15)
    assert [a.outcome for a in delivery.attempts] == ["dropped"] * 8
    assert receiver.received == []


def test_duplicated_notifications(sandbox: SandboxServer, client: AntomClient, receiver: NotificationReceiver) -> None:
    session = create_session(client, notify_url=receiver.url)
    outcome = sandbox.pay(session.payment_session_data)
    with faulty(sandbox, "duplicate") as doubling:
        doubling.capture(capture_request_id="cap-d", payment_id=outcome["paymentId"], amount=Amount("SGD", 4200))
    notes = receiver.wait(3)
    captures = [n for n in notes if n.notify_type == "CAPTURE_RESULT"]
    assert len(captures) == 2
    assert captures[0].body == captures[1].body
    assert captures[0].headers["signature"] == captures[1].headers["signature"]


def test_reordered_notifications(sandbox: SandboxServer, client: AntomClient, receiver: NotificationReceiver) -> None:
    sandbox.set_faults(notify_reorder=True)
    session = create_session(client, notify_url=receiver.url, manual=False)
    sandbox.pay(session.payment_session_data)
    notes = receiver.wait(2)
    assert [n.notify_type for n in notes] == ["CAPTURE_RESULT", "PAYMENT_RESULT"]


def test_cli_flags_become_run_faults() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    options = parser.parse_args(
        [
            "--latency=0.2",
            "--http-error-rate=0.5",
            "--http-error-status=504",
            "--unknown-rate=0.25",
            "--drop-notifications=all",
            "--duplicate-notifications",
            "--reorder-notifications",
            "--fault-operations=capture,refund",
            "--time-scale=0.01",
            "--no-resend",
        ]
    )
    config = config_from(options)
    assert config.faults == Faults(
        latency=0.2,
        http_error_rate=0.5,
        http_error_status=504,
        unknown_rate=0.25,
        notify_drop=-1,
        notify_duplicate=True,
        notify_reorder=True,
        operations=("capture", "refund"),
    )
    assert (config.time_scale, config.resend_notifications) == (0.01, False)


def test_rate_based_faults_are_seeded(sandbox: SandboxServer, client: AntomClient) -> None:
    sandbox.set_faults(http_error_rate=0.5, operations=("inquiryPayment",))

    def outcomes() -> list[str]:
        sandbox.sim.rng.seed(1234)
        seen = []
        for _ in range(16):
            try:
                client.inquiry_payment(payment_request_id="nothing")
            except AntomServerError:
                seen.append("5xx")
            except AntomFailed:
                seen.append("F")
        return seen

    first = outcomes()
    assert {"5xx", "F"} == set(first)
    assert outcomes() == first
