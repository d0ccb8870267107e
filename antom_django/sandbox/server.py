"""Run the simulator: a threaded stdlib WSGI server, key files, and helpers that drive it from tests."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from cryptography.hazmat.primitives.asymmetric import rsa

from antom_django.client.api import AntomClient
from antom_django.client.keys import (
    generate_private_key,
    load_private_key,
    private_der_b64,
    public_der_b64,
    public_pem,
    write_private_pem,
)

from .app import SandboxApp
from .config import DEFAULT_CLIENT_ID, SandboxConfig
from .engine import Simulator
from .faults import Faults
from .notifier import Delivery

logger = logging.getLogger("antom_django.sandbox")

SIMULATOR_KEY_FILE = "antom_sandbox_private_key.pem"
MERCHANT_KEY_FILE = "merchant_private_key.pem"


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        logger.debug("sandbox http: " + format, *args)


@dataclass(frozen=True)
class Merchant:
    """A merchant registered with the simulator: its client id and key pair."""

    client_id: str
    private_key: rsa.RSAPrivateKey

    def __repr__(self) -> str:
        return f"<Merchant {self.client_id}>"

    @property
    def private_key_b64(self) -> str:
        return private_der_b64(self.private_key)

    @property
    def public_key_b64(self) -> str:
        return public_der_b64(self.private_key)


def session_id_from(value: str) -> str:
    """A session id from a ``paymentSessionData``, a checkout URL or the id itself."""
    if "&&" in value:
        data = json.loads(base64.b64decode(value.split("&&", 1)[0]))
        return str(data["sessionId"])
    if "/checkout/" in value:
        return value.rstrip("/").rsplit("/", 1)[-1]
    return value


def load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    """Load a PEM / base64 DER private key file, or create it (mode 0600) when it is missing."""
    if path.exists():
        return load_private_key(path.read_text(encoding="ascii"), what=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate_private_key()
    write_private_pem(path, key)
    return key


def write_public_key(path: Path, key: rsa.RSAPrivateKey) -> None:
    """Write the key's public half as PEM (what ``ANTOM_PUBLIC_KEY_FILE`` names). A file that already holds it is
    left alone, and a new one replaces the old in one rename: a shop starting at the same moment as the simulator
    (``make demo``) never reads it empty or half-written."""
    data = public_pem(key)
    with contextlib.suppress(OSError):
        if path.read_bytes() == data:
            return
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)


class SandboxServer:
    """A running simulator on ``host:port`` (port 0 picks a free one)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        config: SandboxConfig | None = None,
        private_key: rsa.RSAPrivateKey | None = None,
    ) -> None:
        self.sim = Simulator(config or SandboxConfig(), private_key or generate_private_key())
        self.app = SandboxApp(self.sim)
        self.httpd = make_server(host, port, self.app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
        self.host = host
        self.port = int(self.httpd.server_address[1])
        self._thread: threading.Thread | None = None
        self.merchants: dict[str, Merchant] = {}

    def __repr__(self) -> str:
        return f"<SandboxServer {self.url}>"

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return self.sim.config.public_url or f"http://{host}:{self.port}"

    @property
    def antom_public_key_b64(self) -> str:
        return self.sim.public_key_b64

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> SandboxServer:
        """Serve in a background thread."""
        self.sim.start()
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="antom-sandbox-http", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        self.sim.start()
        try:
            self.httpd.serve_forever()
        finally:
            self.stop()

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self.httpd.server_close()
        self.sim.stop()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- merchants and settings -------------------------------------------------------

    def add_merchant(
        self, client_id: str = DEFAULT_CLIENT_ID, private_key: rsa.RSAPrivateKey | None = None
    ) -> Merchant:
        """Register a merchant (a fresh key pair unless one is given)."""
        merchant = Merchant(client_id, private_key or generate_private_key())
        self.sim.register_client(client_id, merchant.private_key.public_key())
        self.merchants[client_id] = merchant
        return merchant

    def merchant(self, client_id: str | None = None) -> Merchant:
        if client_id is None:
            if not self.merchants:
                return self.add_merchant()
            return next(iter(self.merchants.values()))
        return self.merchants[client_id]

    def antom_settings(self, merchant: Merchant | None = None) -> dict[str, Any]:
        """The ``ANTOM`` settings keys that point a shop at this simulator."""
        merchant = merchant or self.merchant()
        return {
            "CLIENT_ID": merchant.client_id,
            "PRIVATE_KEY": merchant.private_key_b64,
            "ANTOM_PUBLIC_KEY": self.antom_public_key_b64,
            "GATEWAY_URL": self.url,
        }

    def client(self, merchant: Merchant | None = None, **kwargs: Any) -> AntomClient:
        """An :class:`AntomClient` for a registered merchant, talking to this simulator."""
        merchant = merchant or self.merchant()
        options: dict[str, Any] = {"max_retries": 0, "read_timeout": 10.0, **kwargs}
        return AntomClient(
            client_id=merchant.client_id,
            private_key=merchant.private_key,
            antom_public_key=self.sim.private_key.public_key(),
            gateway_url=self.url,
            **options,
        )

    # -- the buyer, the clock and faults ------------------------------------------------

    def _post(self, path: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(payload).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def pay(
        self,
        session: str,
        card: str = "4242424242424242",
        *,
        expiry: str = "12/34",
        cvv: str = "123",
        billing_address: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Pay a session (``paymentSessionData``, checkout URL or id) through the hosted checkout over HTTP."""
        form: dict[str, Any] = {"cardNumber": card, "expiry": expiry, "cvv": cvv}
        if billing_address is not None:
            form["billingAddress"] = billing_address
        _, data = self._post(f"/checkout/{session_id_from(session)}/pay", form)
        return data

    def challenge(self, session: str, passed: bool = True) -> dict[str, Any]:
        """Finish a 3-D Secure challenge."""
        _, data = self._post(
            f"/checkout/{session_id_from(session)}/challenge", {"result": "pass" if passed else "fail"}
        )
        return data

    def expire(self, session: str) -> None:
        """Let a session run out now."""
        self.sim.expire_session(session_id_from(session))

    def settle(self, payment_id: str, status: str | None = None) -> None:
        """Settle a PENDING (processing-card) payment now."""
        self.sim.settle(payment_id, status)

    def advance_clock(self, seconds: float) -> None:
        """Move the simulator's clock forward (auth and session expiry)."""
        self.sim.advance_clock(seconds)

    def set_faults(self, faults: Faults | None = None, **kwargs: Any) -> Faults:
        """Set run-wide faults, e.g. ``set_faults(unknown_rate=1.0, operations=("capture",))``."""
        self.sim.faults = faults or Faults.from_json(kwargs)
        return self.sim.faults

    def reset(self) -> None:
        """Forget payments, notifications and faults (merchants stay registered)."""
        self.sim.reset()
        self.sim.start()

    def notifications(self, notify_type: str | None = None) -> list[Delivery]:
        return [d for d in list(self.sim.notifier.deliveries) if notify_type in (None, d.notify_type)]

    def wait_for_notifications(
        self, count: int = 1, notify_type: str | None = None, *, state: str | None = "acked", timeout: float = 10.0
    ) -> list[Delivery]:
        """Wait until ``count`` notifications (of a type, in a final ``state``) exist; raises on timeout."""

        def matching(deliveries: list[Delivery]) -> list[Delivery]:
            return [
                d for d in deliveries if notify_type in (None, d.notify_type) and (state is None or d.state == state)
            ]

        if not self.sim.notifier.wait_for(lambda ds: len(matching(ds)) >= count, timeout):
            found = [(d.notify_type, d.state) for d in self.notifications()]
            raise TimeoutError(f"expected {count} {notify_type or ''} notification(s) ({state}); have {found}")
        return matching(list(self.sim.notifier.deliveries))
