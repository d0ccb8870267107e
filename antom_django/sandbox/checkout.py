"""The hosted test checkout (``/checkout/<sessionId>``) and the static SDK stand-in (``/sdk/...``)."""

from __future__ import annotations

import html
import json
import re
from functools import lru_cache
from importlib import resources
from string import Template
from typing import Any
from urllib.parse import parse_qsl

from antom_django.client.money import format_amount

from .cards import TEST_CARDS
from .engine import CheckoutError, Simulator
from .web import Request, Response, json_response, text_response

_ROUTE = re.compile(r"^/checkout/(?P<sid>[A-Za-z0-9_-]+)(?:/(?P<action>pay|challenge|expire|state))?/?$")
_ASSETS = {
    "/sdk/ams-checkout.js": ("ams-checkout.js", "application/javascript; charset=utf-8"),
    "/sdk/ams-checkout.min.js": ("ams-checkout.js", "application/javascript; charset=utf-8"),
    "/sdk/checkout.js": ("checkout.js", "application/javascript; charset=utf-8"),
    "/sdk/checkout.css": ("checkout.css", "text/css; charset=utf-8"),
}
_CORS = [("Access-Control-Allow-Origin", "*")]


@lru_cache(maxsize=8)
def asset(name: str) -> str:
    return resources.files("antom_django.sandbox").joinpath("assets", name).read_text(encoding="utf-8")


def route(sim: Simulator, request: Request) -> Response:
    if request.path in _ASSETS:
        name, content_type = _ASSETS[request.path]
        response = text_response(asset(name), content_type=content_type)
        response.headers += [*_CORS, ("Cache-Control", "no-cache")]
        return response
    match = _ROUTE.match(request.path)
    if not match:
        return json_response({"code": "SDK_CREATEPAYMENT_PARAMETER_ERROR", "message": "Unknown page."}, 404)
    sid, action = match.group("sid"), match.group("action")
    if action is None:
        return page(sim, sid, request)
    if action == "state":
        return _state(sim, sid)
    if request.method != "POST":
        return json_response({"code": "SDK_PAYMENT_ERROR", "message": "use POST"}, 405)
    try:
        form = request.json()
    except (ValueError, UnicodeDecodeError):
        form = None
    if not isinstance(form, dict):
        return json_response(
            {"code": "SDK_FORM_VERIFICATION_FAILED", "message": "The body must be a JSON object."}, 400
        )
    try:
        if action == "pay":
            session, outcome = sim.pay(sid, form)
            return json_response(outcome.to_json(session), headers=_CORS)
        if action == "challenge":
            session, outcome = sim.challenge(sid, form.get("result") == "pass")
            return json_response(outcome.to_json(session), headers=_CORS)
        sim.expire_session(sid)
        return _state(sim, sid)
    except CheckoutError as exc:
        return json_response({"code": exc.code, "message": exc.message, "fields": exc.fields}, exc.status, _CORS)


def _state(sim: Simulator, sid: str) -> Response:
    try:
        session, payment = sim.session(sid)
    except CheckoutError as exc:
        return json_response({"code": exc.code, "message": exc.message}, exc.status, _CORS)
    return json_response(
        {
            "sessionId": session.session_id,
            "sessionStatus": session.status,
            "expiresAt": session.expires.isoformat(),
            "paymentStatus": payment.status,
            "paymentResultCode": payment.result_code,
            "paymentResultMessage": payment.result_message,
            "paymentRequestId": payment.payment_request_id,
            "redirectUrl": payment.redirect_url,
        },
        headers=_CORS,
    )


def page(sim: Simulator, sid: str, request: Request) -> Response:
    try:
        session, payment = sim.session(sid)
    except CheckoutError as exc:
        return text_response(
            f"<!doctype html><p>{html.escape(exc.message)}</p>", exc.status, "text/html; charset=utf-8"
        )
    query = dict(parse_qsl(request.query))
    config: dict[str, Any] = {
        "sessionId": session.session_id,
        "status": session.status,
        "paymentStatus": payment.status,
        "redirectUrl": payment.redirect_url,
        "embedded": query.get("embed") == "1",
        "mode": query.get("mode", "page"),
        "showSubmitButton": query.get("submit", "1") != "0",
        "parentOrigin": query.get("parent", "*"),
        "locale": query.get("locale", "en_US"),
    }
    rows = "".join(
        f'<tr><td><code data-card="{n}">{" ".join(n[i : i + 4] for i in range(0, len(n), 4))}</code></td>'
        f"<td>{html.escape(card.description)}</td></tr>"
        for n, card in TEST_CARDS.items()
    )
    body = Template(asset("checkout.html")).substitute(
        amount=html.escape(format_amount(payment.amount.value, payment.amount.currency)),
        reference=html.escape(payment.payment_request_id),
        session_status=html.escape(session.status),
        config=html.escape(json.dumps(config), quote=True),
        cards=rows,
        mode_class="embedded" if config["embedded"] else "page",
    )
    response = text_response(body, content_type="text/html; charset=utf-8")
    response.headers.append(("Cache-Control", "no-store"))
    return response
