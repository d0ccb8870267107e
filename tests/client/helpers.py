"""Fake Antom answers for ``responses``: signed with the vectors' Antom key, or deliberately not."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import responses

from antom_django.client import Signer, build_signature_header
from antom_django.client.keys import generate_private_key, load_private_key
from tests.settings import VECTORS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GATEWAY = "https://open-sea-global.alipay.com"
RESPONSE_TIME = "2024-01-01T12:00:01+08:00"


@cache
def antom_signer() -> Signer:
    """Signs as Antom does (the vectors' Antom private key)."""
    return Signer(load_private_key(VECTORS["antom_private_key"]))


@cache
def stranger_signer() -> Signer:
    """Signs with a key nobody trusts."""
    return Signer(generate_private_key())


def fixture(name: str) -> dict[str, Any]:
    """A gateway payload from ``tests/fixtures/<endpoint>_<outcome>.json``."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def to_body(payload: dict[str, Any] | str | bytes) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode()
    # Antom's own formatting differs from ours; the signature covers whatever bytes are sent.
    return json.dumps(payload, indent=2).encode()


def signed_headers(
    path: str,
    body: bytes,
    *,
    client_id: str = VECTORS["client_id"],
    response_time: str = RESPONSE_TIME,
    signer: Signer | None = None,
) -> dict[str, str]:
    """The headers of a signed Antom response to ``POST path``."""
    sig = (signer or antom_signer()).sign("POST", path, client_id, response_time, body)
    return {
        "client-id": client_id,
        "response-time": response_time,
        "signature": build_signature_header(sig),
    }


def add_answer(
    rsps: responses.RequestsMock,
    path: str,
    payload: dict[str, Any] | str | bytes,
    *,
    status: int = 200,
    signed: bool = True,
    headers: dict[str, str] | None = None,
    **sign_kwargs: Any,
) -> bytes:
    """Register one answer at ``GATEWAY + path``; returns the exact body bytes."""
    body = to_body(payload)
    all_headers = signed_headers(path, body, **sign_kwargs) if signed else {}
    all_headers.update(headers or {})
    rsps.add(
        responses.POST,
        GATEWAY + path,
        body=body,
        status=status,
        headers=all_headers,
        content_type="application/json",
    )
    return body


def result(status: str, code: str | None = None, message: str = "") -> dict[str, str]:
    default = {"S": "SUCCESS", "F": "PROCESS_FAIL", "U": "UNKNOWN_EXCEPTION"}[status]
    return {"resultStatus": status, "resultCode": code or default, "resultMessage": message or default.lower()}
