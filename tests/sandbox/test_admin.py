"""The simulator's unsigned admin endpoints and its answers to requests that are not API calls."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from antom_django.client import AntomClient
from antom_django.client.keys import generate_private_key, public_der_b64
from antom_django.sandbox import SandboxServer

from .conftest import create_session


def call(sandbox: SandboxServer, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(sandbox.url + path, data=data, method=method)
    try:
        with urllib.request.urlopen(request) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode()


def test_health_and_index(sandbox: SandboxServer) -> None:
    status, health = call(sandbox, "GET", "/sandbox/health")
    assert status == 200
    assert health["antomPublicKey"] == sandbox.antom_public_key_b64
    assert "SANDBOX_5YPYTEST0000001" in health["clients"]
    status, page = call(sandbox, "GET", "/")
    assert status == 200 and sandbox.antom_public_key_b64 in page


@pytest.mark.usefixtures("held")
def test_payment_state_settle_and_expire(sandbox: SandboxServer, client: AntomClient) -> None:
    pending = create_session(client)
    payment_id = sandbox.pay(pending.payment_session_data, "4000000000000259")["paymentId"]
    status, state = call(sandbox, "GET", f"/sandbox/payments/{payment_id}")
    assert (status, state["paymentStatus"]) == (200, "PENDING")
    assert call(sandbox, "POST", f"/sandbox/payments/{payment_id}/settle", {"status": "MAYBE"})[0] == 400
    status, state = call(sandbox, "POST", f"/sandbox/payments/{payment_id}/settle", {"status": "SUCCESS"})
    assert state["paymentStatus"] == "SUCCESS"
    unpaid = create_session(client)
    status, expired = call(sandbox, "POST", f"/sandbox/sessions/{unpaid.payment_session_id}/expire")
    assert (status, expired["paymentStatus"]) == (200, "FAIL")
    assert call(sandbox, "POST", "/sandbox/sessions/nope/expire")[0] == 404
    assert call(sandbox, "GET", "/sandbox/payments/nope")[0] == 404


def test_clock_moves_expiry(sandbox: SandboxServer, client: AntomClient) -> None:
    session = create_session(client)
    status, clock = call(sandbox, "POST", "/sandbox/clock", {"advance": 3601})
    assert (status, clock["offset"]) == (200, 3601)
    _, state = call(sandbox, "GET", f"/checkout/{session.payment_session_id}/state")
    assert (state["sessionStatus"], state["paymentResultCode"]) == ("EXPIRED", "ORDER_IS_CLOSED")
    assert call(sandbox, "POST", "/sandbox/clock", {"advance": "later"})[0] == 400


def test_register_a_client(sandbox: SandboxServer) -> None:
    key = generate_private_key()
    status, answer = call(
        sandbox, "POST", "/sandbox/clients", {"clientId": "SANDBOX_5YADMIN000000001", "publicKey": public_der_b64(key)}
    )
    assert status == 200 and "SANDBOX_5YADMIN000000001" in answer["clients"]
    with AntomClient(
        client_id="SANDBOX_5YADMIN000000001",
        private_key=key,
        antom_public_key=sandbox.antom_public_key_b64,
        gateway_url=sandbox.url,
        max_retries=0,
    ) as registered:
        assert create_session(registered).result.status == "S"
    status, answer = call(sandbox, "POST", "/sandbox/clients", {"clientId": "X", "publicKey": "not a key"})
    assert status == 400 and "public key" in answer["error"]


def test_reset_forgets_payments(sandbox: SandboxServer, client: AntomClient) -> None:
    session = create_session(client)
    assert call(sandbox, "POST", "/sandbox/reset", {})[1] == {"reset": True}
    assert call(sandbox, "GET", f"/checkout/{session.payment_session_id}/state")[0] == 404


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("POST", "/ams/api/v1/payments/pay", 404, "NO_INTERFACE_DEF"),
        ("GET", "/ams/api/v1/payments/capture", 405, "METHOD_NOT_SUPPORTED"),
        ("GET", "/nothing/here", 404, "NO_INTERFACE_DEF"),
    ],
)
def test_unknown_routes(sandbox: SandboxServer, method: str, path: str, status: int, code: str) -> None:
    got, body = call(sandbox, method, path, {} if method == "POST" else None)
    assert (got, body["result"]["resultCode"]) == (status, code)


def test_bad_admin_bodies(sandbox: SandboxServer) -> None:
    request = urllib.request.Request(sandbox.url + "/sandbox/faults", data=b"{", method="POST")
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(request)
    assert exc.value.code == 400
    assert call(sandbox, "POST", "/sandbox/faults", {"nonsense": 1})[0] == 400
    assert call(sandbox, "GET", "/sandbox/nothing")[0] == 404
