"""Antom's official Python SDK (``global-open-sdk-python``) runs a whole card flow against the simulator.

The SDK runs in its own venv, ``bench/.sdk-venv``, built by ``bench/signing.py``'s ``ensure_sdk_venv``
with the version that benchmark pins (built from PyPI when missing, about a minute once). The driver,
``tests/sandbox/sdk_driver.py``, uses ``DefaultAlipayClient`` and the SDK's request, response and
notification classes and its webhook tool as they are, with two changes only:

* the host: ``DefaultAlipayClient(gateway_url="http://127.0.0.1:<port>", ...)``, the constructor
  argument that otherwise names Antom's regional host (``https://open-sea-global.alipay.com``);
* plain HTTP: one attribute, the SDK's connection factory
  ``com.alipay.ams.api.net.default_http_rpc.__get_http_connection``, is replaced by one that opens
  ``http.client.HTTPConnection`` to the gateway URL's host and port (the SDK's own always opens HTTPS
  to port 443). The request it sends, its signing, response verification and parsing are untouched.

The client id starts with ``SANDBOX_``, so the SDK sends and signs the sandbox paths
(``/ams/sandbox/api/v1/...``) as it does against Antom's sandbox.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from antom_django.client.keys import generate_private_key, private_der_b64, public_der_b64
from antom_django.client.signing import Signer, Verifier, build_signature_header, parse_signature_header
from antom_django.pytest_plugin import CLIENT_ID
from antom_django.sandbox import SandboxServer
from antom_django.sandbox.server import Merchant

from .conftest import new_id

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("sdk_driver.py")
NOTIFY_PATH = "/antom/notify/"  # the driver's notification endpoint
LIVE_STYLE_CLIENT_ID = "5YPYTEST0000002"  # no SANDBOX_ prefix: the SDK keeps the /ams/api/ paths
TOTAL, CAPTURE1, CAPTURE2, REFUND = 4200, 1500, 2000, 1000


@pytest.fixture(scope="module")
def sdk_python() -> Path:
    """The python of the official SDK's venv, shared with the signing benchmark (one venv, one pin)."""
    from bench.signing import ensure_sdk_venv  # noqa: PLC0415 - imports the benchmark's setup only here

    try:
        return ensure_sdk_venv()
    except (subprocess.CalledProcessError, OSError) as exc:  # no network: CI's ANTOM_TEST_NO_SKIP fails this
        pytest.skip(f"cannot install Antom's official SDK into bench/.sdk-venv: {exc}")


def _run_driver(sdk_python: Path, sandbox: SandboxServer, job: dict[str, Any]) -> tuple[dict[str, Any], dict]:
    """Run the driver; between the session and the rest, the test pays as the buyer on the checkout."""
    # The SDK's venv stands alone: none of this project's paths, nor its warnings-as-errors policy (tox).
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONWARNINGS")}
    process = subprocess.Popen(
        [str(sdk_python), str(DRIVER)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    watchdog = threading.Timer(120, process.kill)
    watchdog.start()
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(json.dumps(job) + "\n")
        process.stdin.flush()
        first = process.stdout.readline()
        if not first:
            pytest.fail(f"the SDK driver stopped before the session:\n{process.communicate()[1]}")
        stage = json.loads(first)
        session = stage["session"]
        assert "error" not in session, session
        paid = sandbox.pay(session["raw"]["paymentSessionData"])
        out, err = process.communicate("paid\n", timeout=100)
    finally:
        watchdog.cancel()
    assert process.returncode == 0, err
    return json.loads(out.splitlines()[-1]), paid


def _ok(step: dict[str, Any]) -> dict[str, Any]:
    """The SDK accepted the answer (signature verified) and parsed a resultStatus S."""
    assert "error" not in step, step["error"]
    assert step["parsed"]["result"]["resultStatus"] == "S", step["parsed"]["result"]
    return step["parsed"]


def _money(value: int) -> dict[str, str]:
    return {"currency": "SGD", "value": str(value)}


def _merchant(sandbox: SandboxServer, client_id: str) -> Merchant:
    return sandbox.merchants.get(client_id) or sandbox.add_merchant(client_id)


@pytest.mark.parametrize(
    ("client_id", "api_path"),
    [(CLIENT_ID, "/ams/sandbox/api/v1/payments/"), (LIVE_STYLE_CLIENT_ID, "/ams/api/v1/payments/")],
    ids=["sandbox-client-id", "live-style-client-id"],
)
def test_official_sdk_whole_flow_against_the_simulator(
    sandbox: SandboxServer, sdk_python: Path, caplog: pytest.LogCaptureFixture, client_id: str, api_path: str
) -> None:
    from bench.signing import SDK_VERSION  # noqa: PLC0415

    merchant = _merchant(sandbox, client_id)
    ids = {name: new_id(name) for name in ("payment", "order", "capture1", "capture2", "capture3", "refund")}
    job = {
        "gateway_url": sandbox.url,
        "client_id": merchant.client_id,
        "private_key": merchant.private_key_b64,
        "antom_public_key": sandbox.antom_public_key_b64,
        "wrong_key": {"private": private_der_b64(generate_private_key())},
        "ids": ids,
        "currency": "SGD",
        "amounts": {"total": TOTAL, "capture1": CAPTURE1, "capture2": CAPTURE2, "refund": REFUND},
        "expect_notifications": 4,
    }
    job["wrong_key"]["public"] = public_der_b64(generate_private_key())
    with caplog.at_level(logging.DEBUG, logger="antom_django.sandbox"):
        seen, paid = _run_driver(sdk_python, sandbox, job)
    assert seen["sdk_version"] == SDK_VERSION
    # The SDK sends absolute-form request lines ("POST http://host:port/ams/... HTTP/1.1"); a
    # SANDBOX_ client id makes it use (and sign) the sandbox paths.
    api_lines = [r.getMessage() for r in caplog.records if "/payments/" in r.getMessage()]
    assert len(api_lines) == 10
    assert all(f'"POST {sandbox.url}{api_path}' in line and '" 200 ' in line for line in api_lines), api_lines

    session = _ok(seen["session"])
    assert session["paymentSessionId"] and session["paymentSessionData"]
    assert session["normalUrl"] == f"{sandbox.url}/checkout/{session['paymentSessionId']}"
    assert paid["status"] == "SUCCESS" and paid["paymentRequestId"] == ids["payment"]
    payment_id = paid["paymentId"]

    authorized = _ok(seen["inquiry_paid"])
    assert authorized["paymentStatus"] == "SUCCESS"
    assert authorized["paymentId"] == payment_id and authorized["paymentRequestId"] == ids["payment"]
    assert authorized["paymentAmount"] == _money(TOTAL)
    assert authorized["authExpiryTime"]  # a manual-capture authorization (isAuthorization: true)
    assert "transactions" not in authorized

    first, last = _ok(seen["capture_partial"]), _ok(seen["capture_last"])
    assert (first["captureRequestId"], first["captureAmount"]) == (ids["capture1"], _money(CAPTURE1))
    assert (last["captureRequestId"], last["captureAmount"]) == (ids["capture2"], _money(CAPTURE2))
    assert first["paymentId"] == last["paymentId"] == payment_id
    assert first["captureId"] and last["captureId"] and first["captureId"] != last["captureId"]
    # isLastCapture closed the authorization: the 700 left can no longer be captured.
    after = seen["capture_after_last"]["parsed"]["result"]
    assert (after["resultStatus"], after["resultCode"]) == ("F", "ORDER_STATUS_INVALID")

    refund = _ok(seen["refund"])
    assert refund["refundRequestId"] == ids["refund"] and refund["refundAmount"] == _money(REFUND)
    assert refund["paymentId"] == payment_id and refund["refundId"]
    refund_inquiry = _ok(seen["inquiry_refund"])
    assert refund_inquiry["refundId"] == refund["refundId"]
    assert refund_inquiry["refundStatus"] == "SUCCESS" and refund_inquiry["refundAmount"] == _money(REFUND)

    final = _ok(seen["inquiry_final"])
    transactions = [
        (t["transactionType"], t["transactionStatus"], t["transactionId"], t["transactionAmount"]["value"])
        for t in final["transactions"]
    ]
    assert transactions == [
        ("CAPTURE", "SUCCESS", first["captureId"], str(CAPTURE1)),
        ("CAPTURE", "SUCCESS", last["captureId"], str(CAPTURE2)),
        ("REFUND", "SUCCESS", refund["refundId"], str(REFUND)),
    ]

    # The SDK refuses what it must refuse, so the checks above cannot pass by default.
    assert seen["inquiry_wrong_antom_key"]["error"].startswith("response verify failed")
    refused = seen["inquiry_wrong_merchant_key"]["parsed"]["result"]
    assert (refused["resultStatus"], refused["resultCode"]) == ("F", "SIGNATURE_INVALID")

    notes = seen["notifications"]
    assert sorted(n["notify_type"] for n in notes) == [
        "CAPTURE_RESULT",
        "CAPTURE_RESULT",
        "PAYMENT_RESULT",
        "REFUND_RESULT",
    ]
    for note in notes:
        assert note["path"] == NOTIFY_PATH
        assert note["verified"] is True, note  # the SDK's webhook_tool.check_signature
        assert note["tampered_verified"] is False and note["wrong_path_verified"] is False
        assert note["parsed"]["result"]["resultStatus"] == "S"
    by_type = {n["notify_type"]: n["parsed"] for n in notes}
    assert by_type["PAYMENT_RESULT"]["payment_id"] == payment_id
    assert by_type["PAYMENT_RESULT"]["payment_request_id"] == ids["payment"]
    captured = {n["parsed"]["capture_id"]: n["parsed"] for n in notes if n["notify_type"] == "CAPTURE_RESULT"}
    assert {c: v["capture_amount"] for c, v in captured.items()} == {
        first["captureId"]: _money(CAPTURE1),
        last["captureId"]: _money(CAPTURE2),
    }
    assert by_type["REFUND_RESULT"]["refund_id"] == refund["refundId"]
    assert by_type["REFUND_RESULT"]["refund_status"] == "SUCCESS"

    # And the simulator holds the same story.
    payment = sandbox.sim.store.payments[payment_id]
    assert (payment.captured, payment.refunded) == (CAPTURE1 + CAPTURE2, REFUND)


def test_absolute_form_request_target_is_served_by_its_path(sandbox: SandboxServer) -> None:
    """``POST http://host:port/ams/... HTTP/1.1`` (RFC 9112 3.2.2, as the SDK sends it) is routed and
    verified by its path; the stdlib WSGI server used to hand the whole URL on, so the SDK got a 404."""
    merchant = sandbox.merchant(CLIENT_ID)
    path, when = "/ams/sandbox/api/v1/payments/inquiryPayment", "2026-01-01T00:00:00+00:00"
    body = json.dumps({"paymentRequestId": "never-created"})
    signature = Signer(merchant.private_key).sign("POST", path, merchant.client_id, when, body)
    connection = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=10)
    try:
        connection.request(
            "POST",
            sandbox.url + path,
            body=body,
            headers={
                "Content-Type": "application/json",
                "client-id": merchant.client_id,
                "request-time": when,
                "signature": build_signature_header(signature),
            },
        )
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    assert response.status == 200
    assert json.loads(raw)["result"]["resultCode"] == "ORDER_NOT_EXIST"  # signature accepted, then looked up
    header = parse_signature_header(response.getheader("signature"))
    verifier = Verifier(sandbox.sim.private_key.public_key())
    assert verifier.is_valid(
        "POST", path, merchant.client_id, response.getheader("response-time"), raw, header.signature
    )
