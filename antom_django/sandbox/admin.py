"""Unsigned admin endpoints under ``/sandbox/`` for tests and people: faults, clients, clock, state."""

from __future__ import annotations

import html
import re
from typing import Any

from antom_django.client.errors import KeyFormatError

from .engine import CheckoutError, Simulator
from .faults import Faults, FaultSpecError
from .gateway import Gateway
from .web import Request, Response, json_response, text_response

_PAYMENT = re.compile(r"^/sandbox/payments/(?P<id>[^/]+)(?P<settle>/settle)?$")
_EXPIRE = re.compile(r"^/sandbox/sessions/(?P<id>[^/]+)/expire$")


def _error(message: str, status: int = 400) -> Response:
    return json_response({"error": message}, status)


def route(sim: Simulator, request: Request) -> Response:
    path, method = request.path, request.method
    try:
        data = request.json() if method in ("POST", "PUT") else {}
    except (ValueError, UnicodeDecodeError):
        return _error("the body must be JSON")
    if not isinstance(data, dict):
        return _error("the body must be a JSON object")
    if path == "/":
        return index(sim, request)
    if path == "/sandbox/health":
        return json_response({"status": "ok", "clients": sim.client_ids(), "antomPublicKey": sim.public_key_b64})
    if path == "/sandbox/faults":
        return faults(sim, method, data)
    if path == "/sandbox/clients" and method == "POST":
        try:
            sim.register_client(str(data.get("clientId") or ""), str(data.get("publicKey") or ""))
        except (ValueError, KeyFormatError) as exc:
            return _error(str(exc))
        return json_response({"clients": sim.client_ids()})
    if path == "/sandbox/notifications":
        return json_response({"notifications": [d.to_json() for d in list(sim.notifier.deliveries)]})
    if path == "/sandbox/clock" and method == "POST":
        try:
            seconds = float(data.get("advance", 0))
        except (TypeError, ValueError):
            return _error("advance must be a number of seconds")
        sim.advance_clock(seconds)
        return json_response({"now": sim.store.clock.now().isoformat(), "offset": sim.store.clock.offset})
    if path == "/sandbox/reset" and method == "POST":
        sim.reset()
        return json_response({"reset": True})
    match = _EXPIRE.match(path)
    if match and method == "POST":
        try:
            expired = sim.expire_session(match.group("id"))
        except CheckoutError as exc:
            return _error(exc.message, exc.status)
        return json_response({"paymentId": expired.payment_id, "paymentStatus": expired.status})
    match = _PAYMENT.match(path)
    if match:
        return payment_state(sim, match.group("id"), bool(match.group("settle")) and method == "POST", data)
    return _error("no such sandbox endpoint", 404)


def faults(sim: Simulator, method: str, data: dict[str, Any]) -> Response:
    if method in ("POST", "PUT"):
        try:
            sim.faults = Faults.from_json(data)
        except FaultSpecError as exc:
            return _error(str(exc))
    elif method == "DELETE":
        sim.faults = Faults()
    return json_response(sim.faults.to_json())


def payment_state(sim: Simulator, payment_id: str, settle: bool, data: dict[str, Any]) -> Response:
    if settle:
        status = data.get("status")
        if status not in (None, "SUCCESS", "FAIL"):
            return _error("status must be SUCCESS or FAIL")
        try:
            sim.settle(payment_id, status)
        except CheckoutError as exc:
            return _error(exc.message, exc.status)
    with sim.store.lock:
        found = sim.store.payments.get(payment_id)
        if found is None:
            return _error("unknown payment", 404)
        state = Gateway(sim).inquiry_payment(found.client_id, {"paymentId": payment_id}, "", None)
    return json_response(state)


def index(sim: Simulator, request: Request) -> Response:
    clients = "".join(f"<li><code>{html.escape(c)}</code></li>" for c in sim.client_ids()) or "<li>none</li>"
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Antom sandbox</title>
<link rel="stylesheet" href="/sdk/checkout.css"></head><body class="page"><main class="card">
<h1>Antom sandbox</h1>
<p>Gateway URL: <code>{html.escape(request.origin)}</code></p>
<p>ANTOM_PUBLIC_KEY:</p><pre class="key">{html.escape(sim.public_key_b64)}</pre>
<p>Registered client ids:</p><ul>{clients}</ul>
<p>SDK stand-in: <code>{html.escape(request.origin)}/sdk/ams-checkout.js</code></p>
</main></body></html>"""
    return text_response(page, content_type="text/html; charset=utf-8")
