"""Signing notifications as Antom does, and posting them to the notify endpoint."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from antom_django.client.keys import load_private_key
from antom_django.client.signing import Signer, build_signature_header
from tests.settings import VECTORS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NOTIFY_PATH = "/antom/notify/"
CLIENT_ID = VECTORS["client_id"]

antom_signer = Signer(load_private_key(VECTORS["antom_private_key"]))


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def now_ms() -> str:
    return str(int(time.time() * 1000))


def signed_headers(
    body: bytes, *, path: str = NOTIFY_PATH, client_id: str = CLIENT_ID, request_time: str | None = None
) -> dict[str, str]:
    """The three headers Antom sends, signed with the test Antom key."""
    request_time = request_time or now_ms()
    signature = antom_signer.sign("POST", path, client_id, request_time, body)
    return {"client-id": client_id, "request-time": request_time, "signature": build_signature_header(signature)}


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def post_notification(client: Any, payload: dict[str, Any] | bytes, **overrides: Any) -> Any:
    """POST a correctly signed notification through Django's test client."""
    body = payload if isinstance(payload, bytes) else encode(payload)
    headers = signed_headers(body)
    headers.update(overrides.pop("headers", {}))
    content_type = overrides.pop("content_type", "application/json")
    return client.post(NOTIFY_PATH, data=body, content_type=content_type, headers=headers, **overrides)
