"""A tiny notification endpoint that verifies Antom's signatures and records what arrived (demos, tests)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from antom_django.client.errors import SignatureError
from antom_django.client.keys import load_public_key
from antom_django.client.signing import Verifier
from antom_django.client.types import ACK_BODY

Reply = Callable[[int, "Received"], tuple[int, bytes]]


@dataclass(frozen=True)
class Received:
    """One notification as it arrived."""

    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    at: float

    @property
    def payload(self) -> dict[str, Any]:
        return dict(json.loads(self.body))

    @property
    def notify_type(self) -> str:
        return str(self.payload.get("notifyType"))


def always_ack(number: int, received: Received) -> tuple[int, bytes]:
    return 200, ACK_BODY


class NotificationReceiver:
    """Listens on ``host:port`` (0: a free port); ``reply(n, received)`` decides each answer (default: ACK)."""

    def __init__(
        self,
        antom_public_key: rsa.RSAPublicKey | str,
        *,
        path: str = "/antom/notify/",
        host: str = "127.0.0.1",
        port: int = 0,
        reply: Reply = always_ack,
    ) -> None:
        key = antom_public_key if isinstance(antom_public_key, rsa.RSAPublicKey) else load_public_key(antom_public_key)
        self.verifier = Verifier(key)
        self.path = path
        self.reply = reply
        self.received: list[Received] = []
        self._cond = threading.Condition()
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{self.path}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    receiver.verifier.verify_header(
                        "POST",
                        self.path.split("?", 1)[0],
                        headers.get("client-id", ""),
                        headers.get("request-time", ""),
                        body,
                        headers.get("signature"),
                    )
                    verified = True
                except SignatureError:
                    verified = False
                item = Received(self.path, headers, body, verified, time.monotonic())
                with receiver._cond:
                    receiver.received.append(item)
                    number = len(receiver.received)
                    receiver._cond.notify_all()
                status, answer = receiver.reply(number, item) if verified else (401, b'{"error":"bad signature"}')
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
                return

        return Handler

    def start(self) -> NotificationReceiver:
        self._thread = threading.Thread(target=self._server.serve_forever, name="antom-notify-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> NotificationReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until ``count`` notifications arrived; raises :class:`TimeoutError` otherwise."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.received) >= count, timeout):
                raise TimeoutError(f"expected {count} notification(s), got {len(self.received)}")
            return list(self.received)
