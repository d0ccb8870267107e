"""The simulator's WSGI application: Antom's API, the hosted checkout, the SDK stand-in and admin endpoints."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from typing import Any

from antom_django.client.errors import SignatureError
from antom_django.client.signing import build_signature_header, parse_signature_header
from antom_django.client.types import Result

from . import admin, checkout
from .engine import Simulator
from .faults import Faults, FaultSpecError
from .gateway import Gateway
from .store import iso
from .web import BodyTooLarge, Request, Response, json_response, text_response

logger = logging.getLogger("antom_django.sandbox")

API_PATH = re.compile(r"^/ams/(?:sandbox/)?api/v1/payments/(?P<op>[A-Za-z]+)$")
UNKNOWN = Result("UNKNOWN_EXCEPTION", "U", "The outcome is unknown; retry with the same request id or inquire.")


def _failure(code: str, message: str) -> dict[str, Any]:
    return {"result": Result(code, "F", message).to_wire()}


class SandboxApp:
    """A WSGI callable; serve it with :mod:`antom_django.sandbox.server` or any WSGI server."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.gateway = Gateway(sim)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        try:
            request = Request.from_environ(environ, self.sim.config.max_body_bytes, self.sim.config.public_url)
        except BodyTooLarge:
            return json_response(_failure("PARAM_ILLEGAL", "request body is too large"), 413)(start_response)
        try:
            response = self.route(request)
        except Exception:  # answer like a broken gateway, keep serving
            logger.exception("sandbox: unhandled error for %s %s", request.method, request.path)
            response = text_response("internal error in the Antom sandbox", 500)
        return response(start_response)

    def route(self, request: Request) -> Response:
        match = API_PATH.match(request.path)
        if match:
            return self.api(request, match.group("op"))
        if request.path.startswith("/checkout/") or request.path.startswith("/sdk/"):
            return checkout.route(self.sim, request)
        if request.path.startswith("/sandbox/") or request.path == "/":
            return admin.route(self.sim, request)
        return json_response(_failure("NO_INTERFACE_DEF", "no such API"), 404)

    # -- Antom's API ------------------------------------------------------------------

    def api(self, request: Request, operation: str) -> Response:
        try:
            header_faults = Faults.from_header(request.headers.get("x-antom-sandbox-fault"))
        except FaultSpecError as exc:
            return json_response(_failure("PARAM_ILLEGAL", f"X-Antom-Sandbox-Fault: {exc}"), 400)
        faults = self.sim.faults.merged(header_faults)
        if not faults.applies_to(operation):
            faults = Faults()
        if faults.latency:
            time.sleep(faults.latency)
        if faults.http_error(self.sim.rng):
            return text_response("injected gateway failure", faults.http_error_status)
        if request.method != "POST":
            return json_response(_failure("METHOD_NOT_SUPPORTED", "use POST"), 405)
        if operation not in self.gateway.operations:
            return json_response(_failure("NO_INTERFACE_DEF", f"API {operation!r} is not defined"), 404)
        client_id = request.headers.get("client-id", "")
        answer = self._answer(request, operation, client_id, header_faults, faults)
        return self._signed(request, client_id, answer)

    def _answer(
        self, request: Request, operation: str, client_id: str, header_faults: Faults | None, faults: Faults
    ) -> dict[str, Any]:
        refused = self._authenticate(request, client_id)
        if refused is not None:
            return refused
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            return _failure("PARAM_ILLEGAL", "the request body must be a JSON object")
        if faults.refuse_code:
            # Antom's F for something the simulator cannot stage (e.g. real Antom's ORDER_NOT_EXIST for a
            # session nobody ever paid with): the operation does not run.
            return _failure(faults.refuse_code, "refused by an injected fault")
        answer = self.gateway.handle(operation, client_id, body, request.origin, header_faults)
        if answer["result"]["resultStatus"] in ("S", "F") and faults.unknown(self.sim.rng):
            # The operation happened (or failed) but the merchant only learns "unknown".
            return {"result": UNKNOWN.to_wire()}
        return answer

    def _authenticate(self, request: Request, client_id: str) -> dict[str, Any] | None:
        if not client_id:
            return _failure("CLIENT_INVALID", "the client-id header is missing")
        verifiers = self.sim.verifiers(client_id)
        if not verifiers:
            return _failure("CLIENT_INVALID", "the client id is not registered with the sandbox")
        request_time = request.headers.get("request-time", "")
        if not request_time:
            return _failure("PARAM_ILLEGAL", "the request-time header is missing")
        try:
            header = parse_signature_header(request.headers.get("signature"))
        except SignatureError as exc:
            return _failure("SIGNATURE_INVALID", exc.message)
        for verifier in verifiers:
            if verifier.is_valid("POST", request.path, client_id, request_time, request.body, header.signature):
                return None
        return _failure("SIGNATURE_INVALID", "the signature does not verify with the merchant's public key")

    def _signed(self, request: Request, client_id: str, answer: dict[str, Any]) -> Response:
        response = json_response(answer)
        if not client_id:
            return response
        response_time = iso(self.sim.store.clock.now()) or ""
        signature = self.sim.signer.sign("POST", request.path, client_id, response_time, response.body)
        response.headers += [
            ("client-id", client_id),
            ("response-time", response_time),
            ("signature", build_signature_header(signature)),
        ]
        return response
