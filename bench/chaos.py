"""The chaos suite: many card payments through the example shop while everything around them misbehaves, then a
check that every payment ended exactly where Antom's records say, with no money moved twice.

Real parts only: the example shop (``example_project``) under gunicorn, PostgreSQL (a database of the run's own,
created and dropped), Redis, two ``celery worker`` processes and ``celery beat`` (``process_due`` every second, the
sweep every 3 s), and the sandbox simulator in its own process. Settings: :mod:`bench.chaos_site`.

The flow, per payment: a guest orders a product (``POST /orders/``), opens a session (``POST /antom/sessions/``;
retried on 503), pays at the simulator's checkout with a card drawn from a mix (approved, declined, processing then
settled either way, 3-D Secure passed or failed, captures that fail); then, as :func:`bench.chaos_adapter.capture_plan`
says, the authorization is captured automatically (at once or after a delay) or held and handled by hand through
``antom_django.services`` (a full capture, a partial one, a partial one then the rest, or a cancel); some captured
payments are refunded in full or in part.

The faults, injected by the simulator's process: notifications of a payment duplicated (≥ 30 % of payments; an
extra copy sent at the same moment from another thread), reordered, or all dropped (≥ 10 %: left to polling and
the sweep); every notification delivered from a pool of threads (concurrently with the others); API calls answered
HTTP 503, ``U`` (after the operation took place) or later than the client's timeout; and a Celery worker SIGKILLed
at random moments and started again.

At the end (faults off, then a bounded wait for polling and sweeps to settle everything), for every payment:
its local status, captured and refunded amounts and each capture and refund equal the simulator's records; no
capture or refund request id reached the simulator without a local row, and none with two different contents;
captured ≤ authorized and refunded ≤ captured; every transition on the payment's timeline had each of its signals
sent for its own event (recorded in the web, worker and bench processes; a repeat for the same event, after a
SIGKILL, is counted apart) and none is left unsent; and ``manage.py antom_reconcile`` over the run's days reports no
difference (exit 0). The counts are printed as a table; any violation exits 1.

Usage: ``python bench/chaos.py`` (2,000 payments), ``--smoke`` (a small run for CI), ``--payments N``,
``--seed N``, ``--notify-apply queue`` (the shop's ``ANTOM_NOTIFY_APPLY``). ``ANTOM_CHAOS_DATABASE_URL`` (default
``postgres://postgres@127.0.0.1:5432/antom_bench_chaos``; created and dropped by the run if missing, emptied if
not) and ``ANTOM_CHAOS_BROKER_URL`` (default ``redis://127.0.0.1:6379/14``; the run's queue is deleted at the end).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
SHOP = ROOT / "example_project"
sys.path.insert(0, str(ROOT))  # bench.* (the shop's folder: bench/chaos_site.py)

from bench.chaos_plan import AUTO_LATER, AUTO_NOW, BY_HAND, capture_plan  # noqa: E402

API_PATH = re.compile(r"^/ams/(?:sandbox/)?api/v1/payments/(?P<op>[A-Za-z]+)$")
FAULT_ENV = "HTTP_X_ANTOM_SANDBOX_FAULT"
TIMEOUT_LATENCY = 3.0
"""Seconds of injected latency: more than the client's timeout (:data:`bench.chaos_site.CLIENT_TIMEOUT`)."""


@dataclass(frozen=True)
class Mode:
    payments: int
    concurrency: int  # buyers at once
    kill_every: tuple[float, float]  # seconds between SIGKILLs of a worker, drawn uniformly
    settle_timeout: float  # seconds, at most, for polling and sweeps to settle everything at the end


MODES = {"full": Mode(2000, 16, (4.0, 12.0), 300.0), "smoke": Mode(30, 10, (3.0, 6.0), 45.0)}


@dataclass(frozen=True)
class Rates:
    """Fault rates: notification faults per payment (by its request id), API faults per call."""

    duplicate: float = 0.35
    reorder: float = 0.20
    drop: float = 0.12
    http_error: float = 0.05
    unknown: float = 0.05
    timeout: float = 0.02


RATES = Rates()
CARDS: list[tuple[str, str, float]] = [
    # (name, card number, weight)
    ("approved", "4242424242424242", 0.42),
    ("approved", "5555555555554444", 0.12),
    ("declined", "4000000000000002", 0.06),
    ("declined", "4000000000009995", 0.03),
    ("declined", "4100000000000019", 0.03),
    ("processing-success", "4000000000000259", 0.10),
    ("processing-fail", "4000000000000267", 0.04),
    ("3ds-passed", "4000000000003220", 0.10),
    ("3ds-failed", "4000000000003220", 0.03),
    ("captures-fail", "4000000000000341", 0.07),
]
PRODUCTS = ("pour-over-kettle", "enamel-mug", "arita-dripper", "loose-leaf-tea")


# -- the simulator's process ------------------------------------------------------------------------------------


def digest(text: str) -> float:
    """A number in [0, 1) that depends on ``text`` only."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 2**32


def notification_faults(payment_request_id: str) -> list[str]:
    """The notification faults a payment gets, from its request id: independent draws per kind."""
    faults = []
    if digest("drop" + payment_request_id) < RATES.drop:
        faults.append("drop=all")
    if digest("duplicate" + payment_request_id) < RATES.duplicate:
        faults.append("duplicate")
    if digest("reorder" + payment_request_id) < RATES.reorder:
        faults.append("reorder")
    return faults


class Chaos:
    """WSGI middleware in the simulator's process: picks each API call's faults (``X-Antom-Sandbox-Fault``),
    logs capture and refund requests, and serves ``/chaos/truth`` (every payment as the simulator knows it) and
    ``/chaos/calm`` (no more API faults)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], sim: Any, seed: int) -> None:
        self.app, self.sim = app, sim
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.calm = False
        self.injected: Counter[tuple[str, str]] = Counter()
        self.requests: list[dict[str, Any]] = []  # capture and refund requests as they arrived
        self.extra_copies = 0
        self._concurrent_notifications()

    def _concurrent_notifications(self) -> None:
        """Deliver every notification from a pool of threads, and send each duplicated one once more at the same
        moment from another thread (besides the simulator's own duplicate, sent right after the original)."""
        pool = ThreadPoolExecutor(8, thread_name_prefix="chaos-notify")
        notifier = self.sim.notifier
        attempt, send, record = notifier._attempt, notifier._send, notifier._record

        def copy(delivery: Any, number: int) -> None:
            record(delivery, send(delivery, number, delivery.created, duplicate=True))

        def concurrent(delivery: Any) -> None:
            pool.submit(attempt, delivery)
            if delivery.faults.notify_duplicate and not delivery.faults.notify_drop:
                with self.lock:
                    self.extra_copies += 1
                pool.submit(copy, delivery, delivery.tries + 1)

        notifier._attempt = concurrent

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/chaos/truth":
            return self.json(start_response, self.truth())
        if path == "/chaos/calm":
            self.calm = True
            return self.json(start_response, {"calm": True})
        match = API_PATH.match(path)
        if match:
            op = match.group("op")
            raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(raw)
            try:
                body = json.loads(raw)
            except ValueError:
                body = {}
            body = body if isinstance(body, dict) else {}
            faults = self.faults(op, body)
            if faults:
                environ[FAULT_ENV] = ", ".join(faults)
        return self.app(environ, start_response)

    def faults(self, op: str, body: dict[str, Any]) -> list[str]:
        faults: list[str] = []
        if op == "createPaymentSession":
            faults += notification_faults(str(body.get("paymentRequestId", "")))
        if op in ("capture", "refund"):
            key = "captureRequestId" if op == "capture" else "refundRequestId"
            amount = body.get("captureAmount" if op == "capture" else "refundAmount") or {}
            with self.lock:
                self.requests.append(
                    {
                        "op": op,
                        "requestId": body.get(key),
                        "paymentId": body.get("paymentId"),
                        "amount": amount.get("value") if isinstance(amount, dict) else None,
                        "last": body.get("isLastCapture"),
                    }
                )
        if not self.calm:
            draw = self.rng.random()
            if draw < RATES.http_error:
                faults.append("http=503")
                kind = "HTTP 503"
            elif draw < RATES.http_error + RATES.unknown:
                faults.append("result=U")
                kind = "U"
            elif draw < RATES.http_error + RATES.unknown + RATES.timeout:
                faults.append(f"latency={TIMEOUT_LATENCY}")
                kind = "timeout"
            else:
                kind = ""
            if kind:
                with self.lock:
                    self.injected[(op, kind)] += 1
        return faults

    def truth(self) -> dict[str, Any]:
        from antom_django.sandbox.gateway import Gateway

        gateway = Gateway(self.sim)
        payments = []
        with self.sim.store.lock:
            for p in list(self.sim.store.payments.values()):
                ops = [("capture", c) for c in p.captures] + [("refund", r) for r in p.refunds]
                payments.append(
                    {
                        "inquiry": gateway.inquiry_payment(p.client_id, {"paymentId": p.payment_id}, "", None),
                        "closedByLastCapture": p.closed_by_last_capture,
                        "cancelled": p.cancel_time is not None,
                        "ledger": [
                            {"op": kind, "requestId": o.request_id, "amount": o.amount.value, "status": o.status}
                            for kind, o in ops
                        ],
                    }
                )
        deliveries = list(self.sim.notifier.deliveries)
        with self.lock:
            injected = [[op, kind, n] for (op, kind), n in self.injected.items()]
            requests_ = list(self.requests)
        return {
            "payments": payments,
            "requests": requests_,
            "injected": injected,
            "notifications": {
                "total": len(deliveries),
                "duplicated": sum(d.faults.notify_duplicate for d in deliveries),
                "reordered": sum(d.faults.notify_reorder for d in deliveries),
                "dropped": sum(d.faults.notify_drop == -1 for d in deliveries),
                "duplicate_sends": sum(a.duplicate for d in deliveries for a in d.attempts),
                "extra_copies": self.extra_copies,
                "acked": sum(d.state == "acked" for d in deliveries),
            },
        }

    @staticmethod
    def json(start_response: Callable[..., Any], data: Any) -> list[bytes]:
        body = json.dumps(data).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


def serve_simulator(seed: int) -> None:
    """The simulator with the test vectors' keys; a time scale of 0.01 (resends within seconds, processing cards
    settled after 3 s); :class:`Chaos` in front."""
    from antom_django.client.keys import load_private_key
    from antom_django.sandbox import SandboxConfig, SandboxServer

    vectors = json.loads((ROOT / "tests" / "fixtures" / "signature_vectors.json").read_text())
    config = SandboxConfig(time_scale=0.01, settle_delay=300.0, seed=seed)
    server = SandboxServer(config=config, private_key=load_private_key(vectors["antom_private_key"]))
    server.sim.register_client(vectors["client_id"], load_private_key(vectors["merchant_private_key"]).public_key())
    server.httpd.set_app(Chaos(server.app, server.sim, seed))
    print(server.port, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()


# -- processes ---------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Processes:
    """Every process of the run, each in its own process group, its output in a file of the run's folder."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder, self.env = folder, env
        self.running: dict[str, subprocess.Popen[Any]] = {}
        self.logs: list[Path] = []

    def start(self, name: str, command: list[str]) -> subprocess.Popen[Any]:
        log = self.folder / f"{name}-{len(self.logs)}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.running[name] = process
        return process

    def celery(self, name: str, *args: str) -> subprocess.Popen[Any]:
        command = [sys.executable, "-W", "ignore::DeprecationWarning", "-m", "celery", "-A", "shopsite", *args]
        return self.start(name, command)

    def worker(self, name: str) -> subprocess.Popen[Any]:
        return self.celery(
            name,
            *("worker", "-P", "solo", "-c", "1", "-Q", self.env["ANTOM_CHAOS_QUEUE"], "-n", f"{name}@%h"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning"),
        )

    def stop_all(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def show(self) -> None:
        for log in self.logs:
            print(f"--- {log.name} ---\n{log.read_text(errors='replace')[-3000:]}")


def wait_for_port(port: int, process: subprocess.Popen[Any], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{what} did not start within {timeout:.0f} s")


class Killer(threading.Thread):
    """SIGKILLs one of the workers at random moments and starts it again at once."""

    def __init__(self, processes: Processes, names: list[str], every: tuple[float, float], rng: random.Random):
        super().__init__(name="chaos-killer", daemon=True)
        self.processes, self.names, self.every, self.rng = processes, names, every, rng
        self.stopped = threading.Event()
        self.kills: list[tuple[str, float]] = []

    def run(self) -> None:
        while not self.stopped.wait(self.rng.uniform(*self.every)):
            name = self.rng.choice(self.names)
            process = self.processes.running[name]
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                self.kills.append((name, time.time()))
            self.processes.worker(name)


def forget_queue(broker_url: str, queue: str) -> None:
    """Delete the run's queue from Redis, with what killed workers left unacknowledged and its bindings."""
    import redis

    broker = redis.Redis.from_url(broker_url)
    try:
        broker.delete(*broker.keys(f"{queue}*") or [queue], f"_kombu.binding_permanent.{queue}")
        for tag, entry in broker.hgetall("unacked").items():
            if json.loads(entry)[2] == queue:
                broker.hdel("unacked", tag)
                broker.zrem("unacked_index", tag)
        for binding in broker.keys("_kombu.binding.*"):
            for member in broker.smembers(binding):
                if queue.encode() in member:
                    broker.srem(binding, member)
    finally:
        broker.close()


# -- the buyers and the shop's staff ---------------------------------------------------------------------------


@dataclass
class Outcome:
    """What the bench did with one payment."""

    card: str
    plan: str
    payment_request_id: str = ""
    actions: list[str] = field(default_factory=list)
    error: str = ""


class Flow:
    """Drives payments through the shop and the simulator, and the by-hand work through the services."""

    def __init__(self, shop_url: str, sim_url: str, seed: int) -> None:
        self.shop_url, self.sim_url, self.seed = shop_url, sim_url, seed
        self.local = threading.local()
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def count(self, what: str) -> None:
        with self.lock:
            self.counts[what] += 1

    def buyer(self) -> requests.Session:
        """One guest per thread (its orders are remembered in its session)."""
        session = getattr(self.local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["Connection"] = "close"  # no request on a keep-alive connection gunicorn just closed
            session.get(f"{self.shop_url}/", timeout=30).raise_for_status()
            self.local.session = session
        return session

    def run(self, index: int) -> Outcome:
        from django.db import connections

        rng = random.Random(f"{self.seed}-{index}")
        name, card = rng.choices([(n, c) for n, c, _ in CARDS], weights=[w for *_, w in CARDS])[0]
        outcome = Outcome(card=name, plan="")
        try:
            self.pay(outcome, rng, card)
        except Exception as exc:  # reported: the run goes on with the other payments
            outcome.error = f"{type(exc).__name__}: {exc}"[:300]
        finally:
            connections.close_all()
        return outcome

    def pay(self, outcome: Outcome, rng: random.Random, card: str) -> None:
        buyer = self.buyer()
        answer = buyer.post(
            f"{self.shop_url}/orders/",
            data={"product": rng.choice(PRODUCTS), "csrfmiddlewaretoken": buyer.cookies["csrftoken"]},
            allow_redirects=False,
            timeout=30,
        )
        number = answer.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
        session = self.session(buyer, number)
        outcome.payment_request_id = session["paymentRequestId"]
        outcome.plan = capture_plan(outcome.payment_request_id)
        paid = self.sim(
            "/checkout/{}/pay".format(session["paymentSessionId"]), cardNumber=card, expiry="12/34", cvv="123"
        )
        if paid.get("paymentStatus") in (None, "") and "3ds" not in outcome.card:
            raise RuntimeError(f"the checkout refused to pay: {paid}")
        if outcome.card.startswith("3ds"):
            result = "pass" if outcome.card == "3ds-passed" else "fail"
            self.sim("/checkout/{}/challenge".format(session["paymentSessionId"]), result=result)
        if outcome.plan == BY_HAND:
            self.by_hand(outcome, rng)
        elif outcome.card in ("approved", "3ds-passed", "processing-success") and rng.random() < 0.3:
            self.refund(outcome, rng)

    def session(self, buyer: requests.Session, number: str) -> dict[str, Any]:
        """``POST /antom/sessions/``, again while the answer is 503 (Antom's answer unknown) or 409
        ``payment_in_progress``."""
        for _ in range(40):
            answer = buyer.post(
                f"{self.shop_url}/antom/sessions/",
                json={"referenceOrderId": number},
                headers={"X-CSRFToken": buyer.cookies["csrftoken"]},
                timeout=30,
            )
            if answer.status_code in (200, 201):
                return dict(answer.json())
            self.count(f"session answered {answer.status_code}")
            time.sleep(0.5)
        raise RuntimeError(f"no session for {number}: {answer.status_code} {answer.text[:200]}")

    def sim(self, path: str, **payload: str) -> dict[str, Any]:
        answer = requests.post(f"{self.sim_url}{path}", json=payload, timeout=30)
        return dict(answer.json())

    # -- by hand --------------------------------------------------------------------------------------------------

    def wait(self, outcome: Outcome, statuses: set[str], timeout: float = 60.0) -> Any:
        """The payment once it is in one of ``statuses`` (None if it ends elsewhere or the wait times out)."""
        from antom_django.models import Payment
        from antom_django.state import PAYMENT_PENDING

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            payment = Payment.objects.get(payment_request_id=outcome.payment_request_id)
            if payment.status in statuses:
                return payment
            if payment.status not in PAYMENT_PENDING and payment.status not in ("AUTHORIZED", "PARTIALLY_CAPTURED"):
                return None
            time.sleep(0.3)
        self.count("waits timed out")
        return None

    def by_hand(self, outcome: Outcome, rng: random.Random) -> None:
        from antom_django import services

        payment = self.wait(outcome, {"AUTHORIZED"})
        if payment is None:
            return
        draw = rng.random()
        if draw < 0.2:
            outcome.actions.append("cancel")
            self.call(outcome, "cancel", lambda: services.cancel(payment))
            return
        half = max(1, payment.amount // 2)
        if draw < 0.55:
            outcome.actions.append("capture full")
            self.call(outcome, "capture", lambda: services.capture(payment))
        elif draw < 0.75:
            outcome.actions.append("capture partial")
            self.call(outcome, "capture", lambda: services.capture(payment, half))
            return
        else:
            outcome.actions.append("capture partial then the rest")
            first = self.call(outcome, "capture", lambda: services.capture(payment, half))
            if first is None or not self.settled(first):
                return
            payment = self.wait(outcome, {"PARTIALLY_CAPTURED"}, 10.0)
            if payment is None:
                return
            self.call(outcome, "capture", lambda: services.capture(payment, final=True))
        if rng.random() < 0.35:
            self.refund(outcome, rng)

    def refund(self, outcome: Outcome, rng: random.Random) -> None:
        from antom_django import services

        payment = self.wait(outcome, {"SUCCEEDED"})
        if payment is None:
            return
        if rng.random() < 0.5:
            outcome.actions.append("refund full")
            self.call(outcome, "refund", lambda: services.refund(payment))
        else:
            outcome.actions.append("refund partial")
            self.call(outcome, "refund", lambda: services.refund(payment, max(1, payment.captured_amount // 3)))

    def settled(self, row: Any, timeout: float = 20.0) -> bool:
        """Wait for a capture or refund row to leave PENDING (workers settle an unknown outcome)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row.refresh_from_db()
            if row.status != "PENDING":
                return bool(row.status == "SUCCEEDED")
            time.sleep(0.3)
        return False

    def call(self, outcome: Outcome, what: str, action: Callable[[], Any]) -> Any:
        """A service call; what it raised is counted (the services refuse, Antom refuses or is unknown)."""
        from antom_django.client.errors import AntomError
        from antom_django.exceptions import PaymentError

        try:
            result = action()
        except (PaymentError, AntomError) as exc:
            self.count(f"{what}: {type(exc).__name__}")
            return None
        self.count(f"{what}: {getattr(result, 'status', 'done')}")
        return result


# -- the checks --------------------------------------------------------------------------------------------------


def expected_status(truth: dict[str, Any]) -> str:
    """Our status for what the simulator holds about a payment (an authorization, as the shop asks for)."""
    inquiry = truth["inquiry"]
    status = inquiry["paymentStatus"]
    if status in ("PROCESSING", "PENDING"):
        return "PENDING"
    if status == "FAIL":
        return "FAILED"
    if status == "CANCELLED":
        return "CANCELLED"
    captured = sum(o["amount"] for o in truth["ledger"] if o["op"] == "capture" and o["status"] == "SUCCESS")
    refunded = sum(o["amount"] for o in truth["ledger"] if o["op"] == "refund" and o["status"] == "SUCCESS")
    if captured == 0:
        return "AUTHORIZED"
    if captured < int(inquiry["paymentAmount"]["value"]) and not truth["closedByLastCapture"]:
        return "PARTIALLY_CAPTURED"
    return "REFUNDED" if refunded and refunded == captured else "SUCCEEDED"


LEDGER_STATUS = {"SUCCESS": "SUCCEEDED", "FAIL": "FAILED", "PROCESSING": "PENDING"}


@dataclass
class Report:
    """Counts of the run and of every check; :attr:`violations` lists what failed."""

    rows: list[tuple[str, str, str]] = field(default_factory=list)  # (section, label, value)
    violations: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, section: str, label: str, value: Any) -> None:
        self.rows.append((section, label, str(value)))

    def violate(self, check: str, example: str) -> None:
        self.violations[check] += 1
        if len(self.examples[check]) < 5:
            self.examples[check].append(example)

    def print(self) -> None:
        width = max(len(label) for _, label, _ in self.rows)
        for section in dict.fromkeys(sec for sec, _, _ in self.rows):  # sections in the order they first appear
            print(f"\n{section}")
            for _, label, value in (row for row in self.rows if row[0] == section):
                print(f"  {label:<{width}}  {value:>10}")
        for check, examples in self.examples.items():
            print(f"\nVIOLATION {check} ({self.violations[check]}), e.g.:")
            for example in examples:
                print(f"  {example}")


def local_state() -> dict[str, Any]:
    """Every payment here with its captures, refunds and timeline, by payment request id."""
    from antom_django.models import Capture, Payment, PaymentEvent, Refund

    state: dict[str, Any] = {}
    for p in Payment.objects.only(
        "payment_request_id", "payment_id", "status", "amount", "captured_amount", "refunded_amount"
    ):
        state[p.payment_request_id] = {"payment": p, "captures": [], "refunds": [], "events": []}
    by_pk = {s["payment"].pk: s for s in state.values()}
    for c in Capture.objects.only(
        "payment_id", "capture_request_id", "amount", "status", "result_code", "source", "updated_at"
    ):
        by_pk[c.payment_id]["captures"].append(c)
    for r in Refund.objects.only(
        "payment_id", "refund_request_id", "amount", "status", "result_code", "source", "updated_at"
    ):
        by_pk[r.payment_id]["refunds"].append(r)
    for e in PaymentEvent.objects.only("payment_id", "kind", "to_status", "source", "created_at", "detail").order_by(
        "pk"
    ):
        by_pk[e.payment_id]["events"].append(e)
    return state


def unsettled(state: dict[str, Any], truth: dict[str, Any]) -> int:
    """Payments not yet where the simulator says they are (or with a capture, refund or cancel in flight)."""
    from antom_django.state import PAYMENT_PENDING

    by_request = {t["inquiry"]["paymentRequestId"]: t for t in truth["payments"]}
    n = 0
    for request_id, s in state.items():
        p = s["payment"]
        t = by_request.get(request_id)
        pending_rows = any(r.status == "PENDING" for r in s["captures"] + s["refunds"]) or (
            t is not None and any(o["status"] == "PROCESSING" for o in t["ledger"])
        )
        if p.status in PAYMENT_PENDING or pending_rows or (t is not None and expected_status(t) != p.status):
            n += 1
    return n


def expected_signals(events: list[Any]) -> Counter[str]:
    """The signals a payment's timeline calls for (antom_django.services.context.move and the ledgers)."""
    paid = {"AUTHORIZED", "PARTIALLY_CAPTURED", "SUCCEEDED", "REFUNDED"}
    expected: Counter[str] = Counter()
    was_paid = False
    for e in sorted(events, key=lambda e: e.pk):
        if e.kind == "STATUS":
            expected["payment_status_changed"] += 1
            if e.to_status in paid and not was_paid:
                expected["payment_authorized"] += 1
            was_paid = was_paid or e.to_status in paid
            name = {"SUCCEEDED": "payment_succeeded", "FAILED": "payment_failed", "CANCELLED": "payment_cancelled"}
            if e.to_status in name:
                expected[name[e.to_status]] += 1
        elif e.kind in ("CAPTURE", "REFUND") and e.to_status in ("SUCCEEDED", "FAILED"):
            expected[f"{e.kind.lower()}_{e.to_status.lower()}"] += 1
    return expected


def judge_signals(events: list[Any], sends: Counter[tuple[int | None, str]]) -> list[tuple[str, str]]:
    """What is wrong with the signals recorded for one payment (``(event pk, signal) -> times sent``).

    Each transition on the timeline must have had each of its signals sent, for its own event; a repeat of the same
    (event, signal) is the outbox at work (its first sender was killed before marking it sent), which a receiver
    keyed on ``event.pk`` sees once, so it is counted apart rather than judged.
    """
    problems = []
    want = expected_signals(events)
    per_transition = Counter(name for _, name in sends)
    if per_transition != want:
        problems.append(
            ("signals differ from the timeline's transitions", f"expected {dict(want)}, sent {dict(sends)}")
        )
    known = {e.pk for e in events}
    strangers = sorted({str(pk) for pk, _ in sends if pk not in known})
    if strangers:
        problems.append(("signals sent for an event not on the payment's timeline", ", ".join(strangers)))
    unsent = [str(e.pk) for e in events if getattr(e, "signals", "")]
    if unsent:
        problems.append(("signals left unsent in the outbox", "events " + ", ".join(unsent)))
    return problems


def timeline(events: list[Any]) -> str:
    return ", ".join(f"{e.kind} {e.to_status} {e.source} {e.created_at:%H:%M:%S.%f} {e.detail}" for e in events)


def check(report: Report, state: dict[str, Any], truth: dict[str, Any], signal_log: Path) -> None:
    """Every payment against the simulator's records, the money, the requests and the signals."""
    from tests.background.recorder import read

    by_request = {t["inquiry"]["paymentRequestId"]: t for t in truth["payments"]}
    requests_by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in truth["requests"]:
        requests_by_id[r["requestId"]].append(r)
    local_ids = {c.capture_request_id for s in state.values() for c in s["captures"]} | {
        r.refund_request_id for s in state.values() for r in s["refunds"]
    }
    sends: dict[str, Counter[tuple[int | None, str]]] = defaultdict(Counter)  # (event, signal) -> times sent
    for line in read(signal_log):
        if line["payment"]:
            sends[line["payment"]][(line["event"], line["signal"])] += 1
    statuses: Counter[str] = Counter()
    captured = refunded = authorized = 0
    signal_total = repeats = 0
    for request_id, s in state.items():
        p = s["payment"]
        statuses[p.status] += 1
        t = by_request.get(request_id)
        if t is None:
            if p.status not in ("FAILED", "CANCELLED"):
                report.violate("payment unknown to the simulator", f"{request_id} {p.status}")
            continue
        want = expected_status(t)
        if want != p.status:
            report.violate("status differs from the simulator", f"{request_id}: ours {p.status}, Antom's {want}")
        ours = {c.capture_request_id: c for c in s["captures"]} | {r.refund_request_id: r for r in s["refunds"]}
        for o in t["ledger"]:
            row = ours.get(o["requestId"])
            if row is None:
                report.violate("capture or refund at the simulator with no row here", f"{request_id} {o}")
            elif (LEDGER_STATUS[o["status"]], o["amount"]) != (row.status, row.amount):
                report.violate(
                    "capture or refund differs from the simulator",
                    f"{request_id} {o['requestId']}: ours {row.status} {row.amount} {row.result_code} "
                    f"({row.source}, {row.updated_at:%H:%M:%S.%f}), Antom's {o['status']} {o['amount']}; timeline "
                    + timeline(s["events"]),
                )
        theirs = {o["requestId"] for o in t["ledger"]}
        for rid, row in ours.items():
            if row.status == "SUCCEEDED" and rid not in theirs:
                report.violate("capture or refund succeeded here, unknown to the simulator", f"{request_id} {rid}")
            if row.status == "PENDING":
                report.violate("capture or refund still unknown", f"{request_id} {rid}")
        sim_captured = sum(o["amount"] for o in t["ledger"] if o["op"] == "capture" and o["status"] == "SUCCESS")
        sim_refunded = sum(o["amount"] for o in t["ledger"] if o["op"] == "refund" and o["status"] == "SUCCESS")
        row_captured = sum(c.amount for c in s["captures"] if c.status == "SUCCEEDED")
        row_refunded = sum(r.amount for r in s["refunds"] if r.status == "SUCCEEDED")
        if not sim_captured == row_captured == p.captured_amount:
            report.violate(
                "captured money differs",
                f"{request_id}: Antom {sim_captured}, rows {row_captured}, payment {p.captured_amount}",
            )
        if not sim_refunded == row_refunded == p.refunded_amount:
            report.violate(
                "refunded money differs",
                f"{request_id}: Antom {sim_refunded}, rows {row_refunded}, payment {p.refunded_amount}",
            )
        if sim_captured > p.amount or p.captured_amount > p.amount:
            report.violate("captured more than authorized", f"{request_id}: {sim_captured} of {p.amount}")
        if sim_refunded > sim_captured or p.refunded_amount > p.captured_amount:
            report.violate("refunded more than captured", f"{request_id}: {sim_refunded} of {sim_captured}")
        if p.status in ("AUTHORIZED", "PARTIALLY_CAPTURED", "SUCCEEDED", "REFUNDED"):
            authorized += p.amount
        captured += sim_captured
        refunded += sim_refunded
        got = sends.get(request_id, Counter())
        signal_total += sum(got.values())
        repeats += sum(n - 1 for n in got.values())
        for problem, detail in judge_signals(s["events"], got):
            report.violate(problem, f"{request_id}: {detail}; timeline " + timeline(s["events"]))
    for rid, sent in requests_by_id.items():
        if rid not in local_ids:
            report.violate("request id sent with no row here (a second send)", f"{rid} {sent[0]}")
        if len({(r["amount"], r["paymentId"], r["last"]) for r in sent}) > 1:
            report.violate("request id sent with different contents", f"{rid} {sent}")
    for status, n in sorted(statuses.items()):
        report.add("Final states", status, n)
    report.add("Money (minor units, all currencies)", "authorized (paid payments)", authorized)
    report.add("Money (minor units, all currencies)", "captured at the simulator", captured)
    report.add("Money (minor units, all currencies)", "refunded at the simulator", refunded)
    report.add("Signals", "recorded (web, workers, bench)", signal_total)
    report.add("Signals", "sent again by a sweep (same event: their first sender was SIGKILLed)", repeats)


def reconcile(env: dict[str, str], since: str) -> tuple[int, str]:
    """``manage.py antom_reconcile`` over the run's days (as the shop's manage.py would run it)."""
    until = datetime.now(UTC).date().isoformat()
    done = subprocess.run(
        [
            sys.executable,
            "-W",
            "ignore",
            "-m",
            "django",
            "antom_reconcile",
            "--skip-checks",
            "--since",
            since,
            "--until",
            until,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done.returncode, done.stdout + done.stderr


# -- the run -----------------------------------------------------------------------------------------------------


def start_simulator(seed: int) -> tuple[subprocess.Popen[str], str]:
    sim = subprocess.Popen(
        [sys.executable, __file__, "--serve-simulator", "--seed", str(seed)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert sim.stdout is not None
    line = sim.stdout.readline().strip()
    if not line.isdigit():
        raise SystemExit(f"the simulator did not start (said {line!r})")
    return sim, f"http://127.0.0.1:{line}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a small run for CI (a minute)")
    parser.add_argument("--payments", type=int, help="payments to make (default: 2000, smoke 40)")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--notify-apply", choices=("inline", "queue"), default="inline")
    parser.add_argument("--mix", help="card weights instead of the default mix, e.g. captures-fail=1,approved=1")
    parser.add_argument("--serve-simulator", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_simulator:
        serve_simulator(args.seed)
        return 0
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.chaos_site"
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop what the run started, drop its database
    if args.mix:
        weights = dict(item.split("=") for item in args.mix.split(","))
        CARDS[:] = [(n, c, float(weights[n])) for n, c, _ in CARDS if n in weights]
    mode = MODES["smoke" if args.smoke else "full"]
    payments = args.payments or mode.payments
    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="antom-chaos-"))
    sim, sim_url = start_simulator(args.seed)
    shop_port = free_port()
    queue = f"antom-chaos-{uuid.uuid4().hex[:8]}"
    broker = os.environ.get("ANTOM_CHAOS_BROKER_URL", "redis://127.0.0.1:6379/14")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.chaos_site",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(SHOP)]),
        "DATABASE_URL": os.environ.get(
            "ANTOM_CHAOS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/antom_bench_chaos"
        ),
        "CELERY_BROKER_URL": broker,
        "SHOP_URL": f"http://127.0.0.1:{shop_port}",
        "ANTOM_GATEWAY_URL": sim_url,
        "ANTOM_NOTIFY_APPLY": args.notify_apply,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "antom-django-chaos-" + uuid.uuid4().hex,
        "ANTOM_TEST_SIGNALS": str(folder / "signals.jsonl"),
        "ANTOM_CHAOS_QUEUE": queue,
        "PYTHONUNBUFFERED": "1",
    }
    os.environ.update(env)  # this process is the shop's staff: the same settings, its signals recorded too
    processes = Processes(folder, env)
    created, failed = False, True
    from bench.database import create_and_migrate, drop_database

    try:
        created = create_and_migrate()
        if not created:
            from django.core.management import call_command

            call_command("flush", interactive=False, verbosity=0)
        status = run(args, mode, payments, processes, env, sim_url, started)
        failed = status != 0
        return status
    finally:
        processes.stop_all()
        sim.terminate()
        sim.wait(timeout=15)
        forget_queue(broker, queue)
        if created:
            drop_database()
        if failed:
            processes.show()
        shutil.rmtree(folder, ignore_errors=True)


def run(
    args: argparse.Namespace,
    mode: Mode,
    payments: int,
    processes: Processes,
    env: dict[str, str],
    sim_url: str,
    started: float,
) -> int:
    since = datetime.now(UTC).date().isoformat()
    shop_url = env["SHOP_URL"]
    port = int(shop_url.rsplit(":", 1)[1])
    web = processes.start(
        "gunicorn",
        [
            *(sys.executable, "-m", "gunicorn", "shopsite.wsgi:application", "--bind", f"127.0.0.1:{port}"),
            *("--workers", "2", "--threads", "4", "--log-level", "warning"),
        ],
    )
    workers = ["worker1", "worker2"]
    for name in workers:
        processes.worker(name)
    processes.celery("beat", "beat", "-s", str(processes.folder / "beat-schedule"), "-l", "warning")
    wait_for_port(port, web, "gunicorn")
    rng = random.Random(args.seed)
    killer = Killer(processes, workers, mode.kill_every, rng)
    flow = Flow(shop_url, sim_url, args.seed)
    print(
        f"chaos ({'smoke' if args.smoke else 'full'}): {payments} payments, {mode.concurrency} buyers at once, "
        f"NOTIFY_APPLY={args.notify_apply}; {os.cpu_count()} CPUs, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} at start",
        flush=True,
    )
    killer.start()
    flow_started = time.monotonic()
    with ThreadPoolExecutor(mode.concurrency, thread_name_prefix="chaos-buyer") as pool:
        outcomes = list(pool.map(flow.run, range(payments)))
    flow_seconds = time.monotonic() - flow_started
    killer.stopped.set()
    killer.join()
    requests.post(f"{sim_url}/chaos/calm", timeout=10)
    settle_started = time.monotonic()
    from django.db import connections

    while True:
        # Ours first, then the simulator's (which moves first) and the signals: a pair read the other way round
        # could show our news of a moment the simulator's older answer does not know yet.
        state = local_state()
        truth = requests.get(f"{sim_url}/chaos/truth", timeout=60).json()
        report = Report()
        check(report, state, truth, Path(env["ANTOM_TEST_SIGNALS"]))
        left = unsettled(state, truth)
        if (left == 0 and not report.violations) or time.monotonic() - settle_started > mode.settle_timeout:
            break
        connections.close_all()
        time.sleep(2.0)
    settle_seconds = time.monotonic() - settle_started
    code, reconcile_output = reconcile(env, since)
    summarize(report, outcomes, flow, truth, killer, left, code)
    from antom_django.services.outbox import RESENT

    resent = sum(log.read_text(errors="replace").count(RESENT) for log in processes.folder.glob("*.log"))
    report.add("Signals", "transitions whose signals a sweep sent (their process was killed first)", resent)
    report.add("Time (s)", "flow", f"{flow_seconds:.0f}")
    report.add("Time (s)", "settling (polling, sweeps)", f"{settle_seconds:.0f}")
    report.add("Time (s)", "whole run", f"{time.monotonic() - started:.0f}")
    report.print()
    if report.violations:
        kills = (f"{name} {datetime.fromtimestamp(at, UTC):%H:%M:%S.%f}" for name, at in killer.kills)
        print(f"\nworkers killed at: {', '.join(kills)}")
    if code != 0:
        print(f"\nantom_reconcile exited {code}:\n{reconcile_output[-4000:]}")
    errors = [o for o in outcomes if o.error]
    for o in errors[:5]:
        print(f"bench error: {o.payment_request_id or '(no payment)'} {o.card}: {o.error}")
    bad = sum(report.violations.values()) + (code != 0) + len(errors)
    print(
        f"\n{'FAIL' if bad else 'OK'}: {sum(report.violations.values())} violations, reconcile exit {code}, "
        f"{len(errors)} bench errors"
    )
    return 1 if bad else 0


def summarize(
    report: Report, outcomes: list[Outcome], flow: Flow, truth: dict[str, Any], killer: Killer, left: int, code: int
) -> None:
    n = len(outcomes)
    paid = [o for o in outcomes if o.payment_request_id]
    report.add("Flow", "payments (sessions through the shop)", len(paid))
    for card, k in sorted(Counter(o.card for o in paid).items()):
        report.add("Flow", f"card: {card}", k)
    plans = Counter(o.plan for o in paid)
    report.add("Flow", "capture: automatic at once", plans[AUTO_NOW])
    report.add("Flow", "capture: automatic after 1.5 s", plans[AUTO_LATER])
    report.add("Flow", "held for the staff", plans[BY_HAND])
    for action, k in sorted(Counter(a for o in outcomes for a in o.actions).items()):
        report.add("Flow", f"by hand: {action}", k)
    for what, k in sorted(flow.counts.items()):
        report.add("Service answers and retries", what, k)
    notes = truth["notifications"]
    faulted = Counter(f for o in paid for f in notification_faults(o.payment_request_id))
    report.add(
        "Faults",
        "payments with notifications duplicated",
        f"{faulted['duplicate']} ({pct(faulted['duplicate'], len(paid))})",
    )
    report.add(
        "Faults",
        "payments with notifications reordered",
        f"{faulted['reorder']} ({pct(faulted['reorder'], len(paid))})",
    )
    report.add(
        "Faults",
        "payments with notifications all dropped",
        f"{faulted['drop=all']} ({pct(faulted['drop=all'], len(paid))})",
    )
    report.add("Faults", "notifications (distinct)", notes["total"])
    report.add("Faults", "duplicate deliveries sent", notes["duplicate_sends"])
    report.add("Faults", "of which concurrent copies", notes["extra_copies"])
    report.add("Faults", "notifications dropped for good", notes["dropped"])
    for op, kind, k in sorted(truth["injected"]):
        report.add("Faults", f"{op}: {kind}", k)
    report.add("Faults", "Celery workers SIGKILLed and restarted", len(killer.kills))
    report.add("Checks", "payments checked", len(paid) if n else 0)
    report.add("Checks", "unsettled when the wait ended", left)
    for check_name in (
        "status differs from the simulator",
        "capture or refund differs from the simulator",
        "capture or refund at the simulator with no row here",
        "capture or refund succeeded here, unknown to the simulator",
        "capture or refund still unknown",
        "request id sent with no row here (a second send)",
        "request id sent with different contents",
        "captured money differs",
        "refunded money differs",
        "captured more than authorized",
        "refunded more than captured",
        "signals differ from the timeline's transitions",
        "signals sent for an event not on the payment's timeline",
        "signals left unsent in the outbox",
    ):
        report.add("Checks (violations)", check_name, report.violations[check_name])
    for extra in sorted(set(report.violations) - {r[1] for r in report.rows}):
        report.add("Checks (violations)", extra, report.violations[extra])
    report.add("Checks (violations)", "antom_reconcile exit status", code)


def pct(k: int, n: int) -> str:
    return f"{100 * k / n:.0f} %" if n else "-"


if __name__ == "__main__":
    sys.exit(main())
