"""A log of the API calls the simulator receives: its WSGI application wrapped while a test runs."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from antom_django.models import Payment
from antom_django.sandbox import SandboxServer
from antom_django.sandbox.app import API_PATH


@dataclass(frozen=True)
class Call:
    """One API request as it arrived (before the simulator's injected latency, if any)."""

    at: float
    operation: str
    body: dict[str, Any]

    def about(self, payment_request_id: str, payment_id: str | None) -> bool:
        ids = (self.body.get("paymentRequestId"), self.body.get("paymentId"))
        return payment_request_id in ids or (payment_id is not None and payment_id in ids)


class CallLog:
    """Every request to Antom's API the simulator received while installed, with the time it arrived."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.calls: list[Call] = []
        self._lock = threading.Lock()

    def install(self) -> None:
        self.server.httpd.set_app(self)

    def uninstall(self) -> None:
        self.server.httpd.set_app(self.server.app)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        match = API_PATH.match(environ.get("PATH_INFO", ""))
        if match:
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = {}
            with self._lock:
                self.calls.append(Call(time.time(), match.group("op"), parsed if isinstance(parsed, dict) else {}))
        return self.server.app(environ, start_response)

    def __getitem__(self, operation: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.operation == operation]

    def about(self, payment: Payment, operation: str, *, after: float = 0.0) -> list[Call]:
        """Calls of ``operation`` about ``payment`` (by its request id or Antom's id, as stored now) that arrived
        after ``after``."""
        stored = Payment.objects.get(pk=payment.pk)
        return [c for c in self[operation] if c.at > after and c.about(stored.payment_request_id, stored.payment_id)]
