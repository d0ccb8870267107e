"""The simulator signs and verifies exactly like Antom: checked against the signature vectors."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from antom_django.client import Verifier, parse_signature_header
from antom_django.client.keys import load_private_key, load_public_key
from antom_django.sandbox import SandboxConfig, SandboxServer
from antom_django.sandbox.receiver import NotificationReceiver
from tests.settings import VECTORS

from .conftest import create_session


@pytest.fixture(scope="module")
def vector_sandbox() -> Any:
    """A simulator holding the vectors' Antom key, trusting the vectors' merchant key."""
    server = SandboxServer(
        config=SandboxConfig(time_scale=0.001), private_key=load_private_key(VECTORS["antom_private_key"])
    )
    server.sim.register_client(VECTORS["client_id"], VECTORS["merchant_public_key"])
    with server:
        yield server


@pytest.mark.parametrize("note", [n for n in VECTORS["notifications"] if n["valid"]], ids=lambda n: n["path"])
def test_simulator_reproduces_antom_notification_signatures(
    vector_sandbox: SandboxServer, note: dict[str, Any]
) -> None:
    expected = parse_signature_header(note["signature_header"]).signature
    produced = vector_sandbox.sim.signer.sign(
        "POST", note["path"], note["client_id"], note["request_time"], note["body"]
    )
    assert produced == expected


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    with urllib.request.urlopen(request) as response:
        return {k.lower(): v for k, v in response.headers.items()}, response.read()


@pytest.mark.parametrize("vector", VECTORS["requests"], ids=lambda r: r["path"].rsplit("/", 1)[-1])
def test_simulator_accepts_antom_sdk_signed_requests(vector_sandbox: SandboxServer, vector: dict[str, Any]) -> None:
    headers = {
        "Content-Type": "application/json; charset=UTF-8",
        "client-id": VECTORS["client_id"],
        "request-time": vector["request_time"],
        "signature": vector["signature_header"],
    }
    response_headers, raw = _post(vector_sandbox.url + vector["path"], vector["body"].encode(), headers)
    assert json.loads(raw)["result"]["resultCode"] != "SIGNATURE_INVALID"
    # ... and signs its answer with the vectors' Antom key over the request path.
    verifier = Verifier(load_public_key(VECTORS["antom_public_key"]))
    verifier.verify_header(
        "POST",
        vector["path"],
        response_headers["client-id"],
        response_headers["response-time"],
        raw,
        response_headers["signature"],
    )
    tampered, tampered_raw = _post(vector_sandbox.url + vector["path"], vector["body"].encode() + b" ", headers)
    assert json.loads(tampered_raw)["result"] == {
        "resultCode": "SIGNATURE_INVALID",
        "resultStatus": "F",
        "resultMessage": "the signature does not verify with the merchant's public key",
    }


def test_signature_header_missing_or_malformed(vector_sandbox: SandboxServer) -> None:
    vector = VECTORS["requests"][0]
    base = {"client-id": VECTORS["client_id"], "request-time": vector["request_time"]}
    for header in (None, "algorithm=RSA256,keyVersion=1", "algorithm=RSA512,signature=abc", "signature=%%%notbase64"):
        headers = dict(base) if header is None else {**base, "signature": header}
        _, raw = _post(vector_sandbox.url + vector["path"], vector["body"].encode(), headers)
        assert json.loads(raw)["result"]["resultCode"] == "SIGNATURE_INVALID", header
    _, raw = _post(vector_sandbox.url + vector["path"], vector["body"].encode(), {"client-id": VECTORS["client_id"]})
    assert json.loads(raw)["result"]["resultCode"] == "PARAM_ILLEGAL"


def test_notifications_verify_with_the_antom_public_key_over_the_notify_path(vector_sandbox: SandboxServer) -> None:
    with NotificationReceiver(VECTORS["antom_public_key"], path="/antom/notify/") as receiver:
        merchant = vector_sandbox.add_merchant("SANDBOX_5YVECTORNOTIFY01")
        with vector_sandbox.client(merchant) as client:
            session = create_session(client, notify_url=receiver.url, manual=False)
            vector_sandbox.pay(session.payment_session_data)
            notes = receiver.wait(2)
    assert all(n.verified for n in notes)
    assert [n.notify_type for n in notes] == ["PAYMENT_RESULT", "CAPTURE_RESULT"]
    first = notes[0]
    assert first.headers["client-id"] == "SANDBOX_5YVECTORNOTIFY01"
    assert parse_signature_header(first.headers["signature"]).key_version == "1"
    # The string to sign uses the path of the notify URL, not the gateway's.
    verifier = Verifier(load_public_key(VECTORS["antom_public_key"]))
    signature = parse_signature_header(first.headers["signature"]).signature
    assert verifier.is_valid(
        "POST", "/antom/notify/", first.headers["client-id"], first.headers["request-time"], first.body, signature
    )
    assert not verifier.is_valid(
        "POST", "/other/", first.headers["client-id"], first.headers["request-time"], first.body, signature
    )
