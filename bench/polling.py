"""The due queue against the simulator: how many in-flight payments one worker keeps on the 2-second inquiry
cadence, Antom calls per settled payment, and CPU per inquiry beside the floor of one signed request and one
UPDATE.

Everything runs as it would in production, on this machine: the sandbox simulator in its own process (it
must not share our GIL), PostgreSQL, a Redis broker and ONE real ``celery worker -P solo`` process running
``antom_django.process_due``; the bench sends that task every second as Celery beat does (the entry of
:data:`antom_django.beat.BEAT_SCHEDULE`, with its ``expires``).

1. Capacity: N payments the buyer paid whose result stays pending at the simulator (its processing test card,
   never settled) are polled by inquiryPayment every ``POLL_INTERVAL``. Lag = when the inquiry reached the
   simulator − when the payment was due (its ``next_check_at``, logged by a trigger on the bench database).
   Reported for increasing N, p50/p95 and inquiries/s; the largest N with p95 < 1 s holds.
2. Antom calls per settled payment: payments being polled are settled at the simulator, whose notification
   reaches ``notify/`` (a gunicorn, ``NOTIFY_APPLY = "inline"``); the simulator counts the calls per payment
   after the notification left it (at most one inquiry) and after our acknowledgment, i.e. after the final
   state was stored (none).
3. CPU milliseconds per inquiry: the worker process's CPU time ÷ inquiries, beside the floor measured in the
   same run: the project's client signing and sending one inquiryPayment to the simulator (and verifying the
   answer) plus one ``UPDATE`` of the payment row, in a loop.

Usage: ``python bench/polling.py`` (fails if a target is missed), ``--smoke`` (a small N for a few seconds;
reports, does not judge), ``--profile N`` (``run_due`` in this process under cProfile, no Celery: where the
time goes). ``ANTOM_BENCH_DATABASE_URL`` selects the database (default
``postgres://postgres@127.0.0.1:5432/antom_bench_polling``; created if missing — and then dropped at the end —,
emptied before each level); ``ANTOM_BENCH_BROKER_URL`` the broker (default ``redis://127.0.0.1:6379/13``).
"""

from __future__ import annotations

import argparse
import bisect
import cProfile
import io
import json
import os
import pstats
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.polling_site"

from bench.database import create_and_migrate, drop_database  # noqa: E402
from bench.targets import Target, report_targets  # noqa: E402

TARGET_IN_FLIGHT = 500  # payments kept on the cadence, at least
TARGET_LAG_P95 = 1.0  # seconds
TARGET_AFTER_NOTIFICATION = 1  # inquiries per payment after its notification left the simulator, at most
PROCESSING_CARD = "4000000000000259"  # the simulator answers PENDING until settled
NEVER = 10.0**7  # the simulator's settle delay: the processing card stays pending for the whole run
API_PATH = re.compile(r"^/ams/(?:sandbox/)?api/v1/payments/(?P<op>[A-Za-z]+)$")


@dataclass(frozen=True)
class Mode:
    levels: tuple[int, ...]  # in-flight payments, measured in turn until one misses the lag target
    warmup: float  # seconds polled before measuring
    measure: float  # seconds measured
    settled: int  # payments settled by notification in part 2
    burst: int  # payments due at once, for one worker's most inquiries/s
    settle_pace: float  # intervals polled before the first settles, settling and watching afterwards (each)
    floor_calls: int


MODES = {
    "full": Mode((100, 150, 200, 250, 300, 400, 500, 600, 750, 1000, 1500, 2000), 5.0, 12.0, 100, 1000, 2.0, 400),
    "smoke": Mode((50,), 2.5, 4.0, 20, 50, 1.0, 40),
}


# -- the simulator's process ------------------------------------------------------------------------------------


class Recorder:
    """WSGI middleware in the simulator's process: logs every API call (operation, payment, arrival time) and
    every notification's send and acknowledgment times; ``GET /bench/log`` hands them over and starts afresh."""

    def __init__(self, app: Callable[..., Iterable[bytes]], sim: Any) -> None:
        self.app, self.sim = app, sim
        self.calls: list[tuple[str, str, float]] = []
        self.acked: dict[int, float] = {}
        record = sim.notifier._record

        def stamped(delivery: Any, attempt: Any) -> None:  # the moment our acknowledgment came back
            if attempt.outcome == "acked":
                self.acked.setdefault(delivery.id, time.time())
            record(delivery, attempt)

        sim.notifier._record = stamped

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/bench/log":
            body = json.dumps(self.take()).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        match = API_PATH.match(path)
        if match:
            arrived = time.time()
            raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(raw)
            try:
                data = json.loads(raw)
                ref = str(data.get("paymentId") or data.get("paymentRequestId") or "")
            except (ValueError, AttributeError):
                ref = ""
            self.calls.append((match.group("op"), ref, arrived))
        return self.app(environ, start_response)

    def take(self) -> dict[str, Any]:
        calls, self.calls = self.calls, []
        offset = time.time() - time.monotonic()
        deliveries = [
            {
                "paymentId": d.payment_id,
                "notifyType": d.notify_type,
                "sent": d.sent_times[0] + offset if d.sent_times else None,
                "acked": self.acked.get(d.id),
            }
            for d in list(self.sim.notifier.deliveries)
        ]
        return {"calls": calls, "deliveries": deliveries}


def serve_simulator() -> None:
    """The simulator with the test vectors' Antom key and merchant, never settling the processing card."""
    from antom_django.client.keys import load_private_key
    from antom_django.sandbox import SandboxConfig, SandboxServer
    from bench.notify_site import VECTORS

    server = SandboxServer(
        config=SandboxConfig(settle_delay=NEVER), private_key=load_private_key(VECTORS["antom_private_key"])
    )
    server.sim.register_client(VECTORS["client_id"], load_private_key(VECTORS["merchant_private_key"]).public_key())
    server.httpd.set_app(Recorder(server.app, server.sim))
    print(server.port, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()


# -- processes ---------------------------------------------------------------------------------------------------


def start_simulator() -> tuple[subprocess.Popen[str], str]:
    sim = subprocess.Popen(
        [sys.executable, __file__, "--serve-simulator"], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert sim.stdout is not None
    line = sim.stdout.readline().strip()
    if not line.isdigit():
        stop(sim)
        raise SystemExit(f"the simulator did not start (said {line!r})")
    return sim, f"http://127.0.0.1:{line}"


WORKER_LOGS: list[Path] = []
"""The worker's output, shown if the run breaks off, removed otherwise."""


def start_worker() -> subprocess.Popen[bytes]:
    """One Celery worker process (``-P solo``: the tasks run in the worker process itself)."""
    from bench.polling_site import QUEUE

    command = [
        sys.executable,
        *("-W", "ignore::DeprecationWarning"),
        *("-m", "celery", "-q", "-A", "bench.polling_celery", "worker", "-P", "solo", "-c", "1", "-Q", QUEUE),
        *("--without-gossip", "--without-mingle", "--without-heartbeat", "--prefetch-multiplier", "1"),
        *("-l", "warning"),
    ]
    log = tempfile.NamedTemporaryFile(prefix="antom-bench-worker-", suffix=".log", delete=False)  # noqa: SIM115
    WORKER_LOGS.append(Path(log.name))
    return subprocess.Popen(
        command, cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def start_notify_server(port: int) -> subprocess.Popen[bytes]:
    """``notify/`` under gunicorn (2 sync workers), for the notifications of part 2."""
    command = [
        *(sys.executable, "-m", "gunicorn", "django.core.wsgi:get_wsgi_application()"),
        *("--bind", f"127.0.0.1:{port}", "--workers", "2", "--chdir", str(ROOT), "--log-level", "warning"),
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=os.environ.copy(), start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.1)
    stop(server)
    raise SystemExit("gunicorn did not start within 30 s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (Linux ``/proc``; 0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """Busy and total CPU ticks of the whole machine so far (``/proc/stat``)."""
    user, nice, system, idle, iowait, *rest = (int(x) for x in Path("/proc/stat").read_text().split()[1:9])
    busy = user + nice + system + sum(rest)
    return busy, busy + idle + iowait


@dataclass(frozen=True)
class Cpu:
    """CPU seconds the worker and the simulator used, and how busy the whole machine was (other work
    included: what is left for the worker shows in its lag)."""

    worker: float
    simulator: float
    machine_busy: float


@dataclass(frozen=True)
class Snapshot:
    worker: float
    simulator: float
    machine: tuple[int, int]


def cpu_snapshot(pids: tuple[int, int]) -> Snapshot:
    return Snapshot(cpu_seconds(pids[0]), cpu_seconds(pids[1]), machine_ticks())


def cpu_used(pids: tuple[int, int], before: Snapshot) -> Cpu:
    """The CPU the worker and the simulator used since ``before``, and the machine's busy share meanwhile."""
    after = cpu_snapshot(pids)
    busy, total = (a - b for a, b in zip(after.machine, before.machine, strict=True))
    return Cpu(after.worker - before.worker, after.simulator - before.simulator, busy / total if total else 0.0)


class Beat(threading.Thread):
    """Sends ``process_due`` every tick, as Celery beat does with the shipped schedule entry, while ``on``."""

    def __init__(self) -> None:
        super().__init__(name="bench-beat", daemon=True)
        from antom_django.beat import BEAT_SCHEDULE
        from bench.polling_celery import app
        from bench.polling_site import QUEUE

        self.app, self.queue = app, QUEUE
        self.entry = BEAT_SCHEDULE["antom-process-due"]
        self.on = threading.Event()
        self.done = threading.Event()

    def run(self) -> None:
        options = {k: v for k, v in self.entry["options"].items() if k != "queue"}
        tick = float(self.entry["schedule"])
        due = time.monotonic()
        while not self.done.is_set():
            if self.on.is_set():
                self.app.send_task(self.entry["task"], kwargs=self.entry["kwargs"], queue=self.queue, **options)
            due += tick
            self.done.wait(max(0.0, due - time.monotonic()))

    def wait_for_worker(self, worker: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + 60
        while not self.app.control.ping(timeout=0.5):
            if worker.poll() is not None:
                raise SystemExit(f"the celery worker exited with {worker.returncode}")
            if time.monotonic() > deadline:
                raise SystemExit("the celery worker did not answer a ping within 60 s")

    def purge(self) -> None:
        with self.app.connection_for_write() as conn:
            conn.default_channel.queue_purge(self.queue)


# -- the database ------------------------------------------------------------------------------------------------

DUE_LOG = """
CREATE UNLOGGED TABLE IF NOT EXISTS bench_due (payment_id bigint NOT NULL, due timestamptz NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE OR REPLACE FUNCTION bench_log_due() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO bench_due (payment_id, due) VALUES (NEW.id, NEW.next_check_at); RETURN NULL; END $$;
DROP TRIGGER IF EXISTS bench_log_due ON antom_django_payment;
CREATE TRIGGER bench_log_due AFTER INSERT OR UPDATE OF next_check_at ON antom_django_payment
    FOR EACH ROW WHEN (NEW.next_check_at IS NOT NULL) EXECUTE FUNCTION bench_log_due();
"""
TABLES = (
    "bench_due, antom_django_notification, antom_django_paymentevent, antom_django_capture, antom_django_refund, "
    "antom_django_payment"
)


def prepare_database() -> bool:
    """Create (if missing) and migrate the bench database, with the due-time log; True if this run created it."""
    created = create_and_migrate()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(DUE_LOG)
    empty()
    return created


def empty() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")


# -- payments at the simulator and in the database -------------------------------------------------------------


@dataclass(frozen=True)
class SimPayment:
    request_id: str
    payment_id: str
    session_id: str
    session_data: str = ""
    session_response: dict[str, Any] = field(default_factory=dict)


class Shop:
    """The simulator seen from the bench: sessions paid with the processing card, the call log, settling."""

    def __init__(self, url: str) -> None:
        import requests

        from antom_django.conf import antom_settings

        self.url = url
        self.client = antom_settings.get_client()
        self.http = requests.Session()
        self.count = 0

    def open(
        self, count: int, notify_url: str | None = None, before_pay: Callable[[list[SimPayment]], None] | None = None
    ):
        """``count`` sessions, then each paid with the processing card (``before_pay`` runs in between)."""
        from antom_django.client import Amount

        tag, self.count = self.count, self.count + count

        def session(i: int) -> SimPayment:
            request_id = f"bench-poll-{tag + i}"
            answer = self.client.create_payment_session(
                payment_request_id=request_id,
                amount=Amount("SGD", 4200),
                redirect_url="https://shop.example.com/checkout/result/",
                reference_order_id=f"order-{tag + i}",
                order_description="bench",
                notify_url=notify_url,
            )
            response = {k: v for k, v in answer.raw.items() if k != "paymentSessionData"}
            return SimPayment(request_id, "", answer.payment_session_id, answer.payment_session_data, response)

        def pay(p: SimPayment) -> SimPayment:
            form = {"cardNumber": PROCESSING_CARD, "expiry": "12/34", "cvv": "123"}
            paid = self.http.post(f"{self.url}/checkout/{p.session_id}/pay", json=form, timeout=30).json()
            if paid.get("paymentStatus") != "PENDING":
                raise SystemExit(f"the processing card did not leave the payment pending: {paid}")
            return replace(p, payment_id=paid["paymentId"])

        with ThreadPoolExecutor(8) as pool:
            opened = list(pool.map(session, range(count)))
            if before_pay is not None:
                before_pay(opened)
            return list(pool.map(pay, opened))

    def log(self) -> dict[str, Any]:
        return self.http.get(f"{self.url}/bench/log", timeout=30).json()

    def settle(self, payment_id: str) -> None:
        self.http.post(f"{self.url}/sandbox/payments/{payment_id}/settle", json={}, timeout=30).raise_for_status()


def insert(payments: list[SimPayment], status: str, spread: float | None) -> dict[int, SimPayment]:
    """Our rows for ``payments``, due one after the other across ``spread`` seconds from now (None: not due)."""
    from django.utils import timezone

    from antom_django.models import Payment

    start = timezone.now() + timedelta(seconds=0.2)
    rows = [
        Payment(
            payment_request_id=p.request_id,
            payment_id=p.payment_id,
            session_id=p.session_id,
            status=status,
            amount=4200,
            currency="SGD",
            reference_order_id=f"order-{p.request_id}",
            is_authorization=True,
            # What the session left on a real row (rows are read whole when claimed and locked).
            session_data=p.session_data,
            session_response=p.session_response,
            session_request={
                "redirect_url": "https://shop.example.com/checkout/result/",
                "notify_url": None,
                "reference_order_id": f"order-{p.request_id}",
                "order_description": "bench",
                "is_authorization": True,
                "capture_mode": None,
                "buyer": None,
                "goods": None,
            },
            next_check_at=None if spread is None else start + timedelta(seconds=spread * i / len(payments)),
        )
        for i, p in enumerate(payments)
    ]
    created = Payment.objects.bulk_create(rows, batch_size=1000)
    return {row.pk: p for row, p in zip(created, payments, strict=True)}


def stagger(pks: list[int], spread: float) -> None:
    """Make the payments due one after the other across ``spread`` seconds from now."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE antom_django_payment AS p SET next_check_at = clock_timestamp() + interval '200 milliseconds'"
            " + (s.n * %s / %s) * interval '1 second' FROM unnest(%s::bigint[]) WITH ORDINALITY AS s(id, n)"
            " WHERE p.id = s.id",
            [spread, len(pks), pks],
        )


def due_times(pks: Iterable[int]) -> dict[int, tuple[list[float], list[float]]]:
    """Per payment: when each due time was written and the due time, leases left out, in writing order."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT payment_id, extract(epoch FROM at), extract(epoch FROM due) FROM bench_due"
            " WHERE due < at + interval '30 seconds' AND payment_id = ANY(%s) ORDER BY payment_id, at",
            [list(pks)],
        )
        rows = cursor.fetchall()
    log: dict[int, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for pk, at, due in rows:
        log[pk][0].append(float(at))
        log[pk][1].append(float(due))
    return log


def quiesce(shop: Shop, beat: Beat) -> None:
    """Stop the ticks, take every payment off the queue and wait until the worker has stopped asking."""
    from antom_django.models import Payment

    beat.on.clear()
    Payment.objects.update(next_check_at=None)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(1.0)
        if not any(op == "inquiryPayment" for op, _, _ in shop.log()["calls"]):
            return
    raise SystemExit("the worker kept polling 30 s after its payments left the queue")


# -- 1. capacity ---------------------------------------------------------------------------------------------


@dataclass
class Level:
    in_flight: int
    seconds: float
    lags: list[float]
    cpu: Cpu
    unmatched: int

    @property
    def rate(self) -> float:
        return len(self.lags) / self.seconds

    def lag(self, q: float) -> float:
        data = sorted(self.lags)
        return data[min(len(data) - 1, int(q * len(data)))] if data else float("inf")

    def per_inquiry_ms(self, seconds: float) -> float:
        return seconds * 1000 / len(self.lags) if self.lags else float("nan")

    @property
    def holds(self) -> bool:
        """Lag p95 under the target, and every payment asked about at least that often (the next due time counts
        from the last look, so a payment late by ``lag`` is asked every ``interval + lag``)."""
        return self.lag(0.95) < TARGET_LAG_P95 and self.rate >= self.in_flight / (interval() + TARGET_LAG_P95)


def interval() -> float:
    from antom_django.conf import antom_settings

    return float(antom_settings.POLL_INTERVAL)


def lags(
    calls: list[tuple[str, str, float]], by_ref: dict[str, int], start: float, end: float
) -> tuple[list[float], int]:
    """Lag of each inquiry that reached the simulator in [start, end): its arrival − the due time written last
    before it; and how many inquiries had no due time to match."""
    log = due_times(by_ref.values())
    found, unmatched = [], 0
    for op, ref, arrived in calls:
        if op != "inquiryPayment" or not start <= arrived < end:
            continue
        ats, dues = log.get(by_ref.get(ref, -1), ([], []))
        i = bisect.bisect_left(ats, arrived) - 1
        if i < 0:
            unmatched += 1
        else:
            found.append(arrived - dues[i])
    return found, unmatched


def measure_level(n: int, mode: Mode, shop: Shop, pool: list[SimPayment], beat: Beat, pids: tuple[int, int]) -> Level:
    from antom_django.models import Payment

    empty()
    rows = insert(pool[:n], Payment.Status.PROCESSING, interval())
    shop.log()
    beat.on.set()
    time.sleep(mode.warmup)
    start, before = time.time(), cpu_snapshot(pids)
    time.sleep(mode.measure)
    end, cpu = time.time(), cpu_used(pids, before)
    calls = shop.log()["calls"]
    quiesce(shop, beat)
    found, unmatched = lags(calls, {p.payment_id: pk for pk, p in rows.items()}, start, end)
    return Level(n, end - start, found, cpu, unmatched)


@dataclass
class Burst:
    payments: int
    inquiries: int
    seconds: float  # from the first inquiry to the last
    cpu: Cpu

    @property
    def rate(self) -> float:
        return self.inquiries / self.seconds if self.seconds else float("nan")

    def per_inquiry_ms(self, seconds: float) -> float:
        return seconds * 1000 / self.inquiries


def measure_burst(n: int, shop: Shop, pool: list[SimPayment], beat: Beat, pids: tuple[int, int]) -> Burst:
    """``n`` payments all due at once: how fast one worker asks about each of them (its most inquiries/s), and
    the CPU that takes, with no idle time between ticks in the figure."""
    from antom_django.models import Payment

    empty()
    insert(pool[:n], Payment.Status.PROCESSING, 0.0)
    shop.log()
    before = cpu_snapshot(pids)
    beat.on.set()
    first: dict[str, float] = {}
    times: list[float] = []  # every inquiry: early payments come round again while late ones wait
    deadline = time.monotonic() + 120
    while len(first) < n and time.monotonic() < deadline:
        time.sleep(0.1)
        for op, ref, arrived in shop.log()["calls"]:
            if op == "inquiryPayment":
                first.setdefault(ref, arrived)
                times.append(arrived)
    cpu = cpu_used(pids, before)
    quiesce(shop, beat)
    if len(first) < n:
        raise SystemExit(f"burst: only {len(first)} of {n} payments asked about in 120 s")
    return Burst(n, len(times), max(times) - min(times), cpu)


# -- 2. calls per settled payment ----------------------------------------------------------------------------


@dataclass
class Settled:
    payments: int
    final: int
    acked: int
    after_notification: Counter[str] = field(default_factory=Counter)  # payment → inquiries after it was sent
    after_final: Counter[str] = field(default_factory=Counter)  # payment → inquiries after we acknowledged
    other_calls: Counter[str] = field(default_factory=Counter)  # operation → calls after the notification

    @property
    def worst(self) -> int:
        return max(self.after_notification.values(), default=0)

    @property
    def mean(self) -> float:
        return sum(self.after_notification.values()) / self.payments if self.payments else 0.0


def measure_settled(mode: Mode, shop: Shop, beat: Beat, notify_url: str) -> Settled:
    """Payments polled until the simulator settles them and notifies; the calls made about each afterwards."""
    from antom_django.models import Payment

    empty()
    rows: dict[int, SimPayment] = {}

    def ours(opened: list[SimPayment]) -> None:  # our PENDING rows exist before the PAYMENT_PENDING notifications
        rows.update(insert(opened, Payment.Status.PENDING, None))

    paid = shop.open(mode.settled, notify_url, before_pay=ours)
    wait_for_notifications(shop, {p.payment_id for p in paid}, "PAYMENT_PENDING")
    stagger(list(rows), interval())
    shop.log()
    beat.on.set()
    pace = mode.settle_pace * interval()
    time.sleep(pace + 0.5)  # every payment asked about at least once before the first settles
    order = [p.payment_id for p in paid]
    random.Random(10).shuffle(order)
    for payment_id in order:  # spread out: notifications meet inquiries at every stage
        shop.settle(payment_id)
        time.sleep(pace / len(order))
    log = wait_for_notifications(shop, set(order), "PAYMENT_RESULT")
    time.sleep(pace + interval())  # anything still polling would show now
    log["calls"] += shop.log()["calls"]
    quiesce(shop, beat)

    results = {d["paymentId"]: d for d in log["deliveries"] if d["notifyType"] == "PAYMENT_RESULT"}
    settled = Settled(
        payments=len(order),
        final=Payment.objects.filter(pk__in=rows).exclude(status__in=["PENDING", "PROCESSING", "INITIATED"]).count(),
        acked=sum(1 for d in results.values() if d["acked"] is not None),
    )
    for op, ref, arrived in log["calls"]:
        note = results.get(ref)
        if note is None or note["sent"] is None or arrived < note["sent"]:
            continue
        if op == "inquiryPayment":
            settled.after_notification[ref] += 1
            if note["acked"] is not None and arrived > note["acked"]:
                settled.after_final[ref] += 1
        else:
            settled.other_calls[op] += 1
    return settled


def wait_for_notifications(shop: Shop, payment_ids: set[str], notify_type: str) -> dict[str, Any]:
    """The simulator's log once every payment's ``notify_type`` notification was acknowledged (calls kept)."""
    calls: list[Any] = []
    deadline = time.monotonic() + 60
    while True:
        log = shop.log()
        calls += log["calls"]
        acked = {d["paymentId"] for d in log["deliveries"] if d["notifyType"] == notify_type and d["acked"]}
        if payment_ids <= acked:
            return {"calls": calls, "deliveries": log["deliveries"]}
        if time.monotonic() > deadline:
            raise SystemExit(f"{len(payment_ids - acked)} {notify_type} notifications not acknowledged in 60 s")
        time.sleep(0.25)


# -- 3. the floor --------------------------------------------------------------------------------------------


def measure_floor(shop: Shop, pool: list[SimPayment], calls: int) -> tuple[float, float]:
    """CPU and wall milliseconds of one signed inquiryPayment (answer verified) plus one UPDATE of the row."""
    from django.db import connection

    from antom_django.models import Payment

    empty()
    pks = list(insert(pool[:calls], Payment.Status.PROCESSING, None))
    ids = [p.payment_id for p in pool[:calls]]
    for payment_id in ids[:5]:  # connections and code warm
        shop.client.inquiry_payment(payment_id=payment_id)
    cpu, wall = time.process_time(), time.perf_counter()
    with connection.cursor() as cursor:
        for pk, payment_id in zip(pks, ids, strict=True):
            shop.client.inquiry_payment(payment_id=payment_id)
            cursor.execute("UPDATE antom_django_payment SET last_inquiry_at = now() WHERE id = %s", [pk])
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    shop.log()
    return cpu * 1000 / calls, wall * 1000 / calls


# -- report ----------------------------------------------------------------------------------------------------


def report(levels: list[Level], burst: Burst, floor: tuple[float, float], settled: Settled | None) -> list[Target]:
    floor_cpu, floor_wall = floor
    print(
        f"floor (one signed inquiryPayment to the simulator, answer verified, + one UPDATE; this process): "
        f"{floor_cpu:.2f} ms CPU, {floor_wall:.2f} ms wall → one thread doing only that keeps "
        f"{2 * 1000 / floor_wall:.0f} payments on a 2 s cadence"
    )
    print(
        f"{'in flight':>9} {'inquiries/s':>11} {'(due)':>5} {'lag p50':>8} {'lag p95':>8} {'lag max':>8}"
        f" {'worker':>7} {'CPU ms/inquiry: worker':>22} {'× floor':>7} {'simulator':>9} {'machine':>8}  holds"
    )
    for lv in levels:
        worker = lv.per_inquiry_ms(lv.cpu.worker)
        print(
            f"{lv.in_flight:9d} {lv.rate:11.0f} {lv.in_flight / interval():5.0f} {lv.lag(0.5) * 1000:6.0f}ms"
            f" {lv.lag(0.95) * 1000:6.0f}ms {lv.lag(1.0) * 1000:6.0f}ms {lv.cpu.worker / lv.seconds:7.0%}"
            f" {worker:22.2f} {worker / floor_cpu:6.2f}× {lv.per_inquiry_ms(lv.cpu.simulator):9.2f}"
            f" {lv.cpu.machine_busy:8.0%}  {'yes' if lv.holds else 'NO'}"
            + (f"  ({lv.unmatched} inquiries without a due time)" if lv.unmatched else "")
        )
    worker = burst.per_inquiry_ms(burst.cpu.worker)
    print(
        f"burst: {burst.payments} payments due at once, each asked about within {burst.seconds:.1f} s: "
        f"{burst.rate:.0f} inquiries/s (one worker's most: {2 * burst.rate:.0f} payments on a 2 s cadence if "
        f"nothing else waited); CPU ms/inquiry: worker {worker:.2f} = {worker / floor_cpu:.2f}× floor, "
        f"simulator {burst.per_inquiry_ms(burst.cpu.simulator):.2f}; machine {burst.cpu.machine_busy:.0%} busy"
    )
    held = [lv.in_flight for lv in levels if lv.holds]
    largest = max(held, default=0)
    print(f"largest number of in-flight payments held (lag p95 < {TARGET_LAG_P95:g} s): {largest or 'none'}")
    targets = [
        Target("in flight on the 2 s cadence", str(largest), f"≥ {TARGET_IN_FLIGHT}", largest >= TARGET_IN_FLIGHT)
    ]
    if settled is not None:
        s = settled
        print(
            f"settled by notification: {s.final}/{s.payments} final in our database, {s.acked} notifications "
            f"acknowledged; inquiries after the notification left the simulator: {sum(s.after_notification.values())}"
            f" (mean {s.mean:.2f}, at most {s.worst} per payment), after our acknowledgment (final state stored):"
            f" {sum(s.after_final.values())}; other calls after it: {dict(s.other_calls) or 'none'}"
        )
        targets += [
            Target(
                "inquiries after notification",
                f"{s.worst}/payment",
                f"≤ {TARGET_AFTER_NOTIFICATION}",
                s.worst <= TARGET_AFTER_NOTIFICATION and s.final == s.payments,
            ),
            Target("inquiries after final state", str(sum(s.after_final.values())), "0", not s.after_final),
        ]
    return targets


def profile(n: int, mode: Mode, shop: Shop, pool: list[SimPayment]) -> None:
    """``run_due`` in this process under cProfile with ``n`` in-flight payments; the lag and the top functions."""
    from antom_django.models import Payment
    from antom_django.services.due import run_due

    empty()
    rows = insert(pool[:n], Payment.Status.PROCESSING, interval())
    shop.log()
    profiler = cProfile.Profile(time.process_time)  # CPU time: what one process can do is bounded by it
    start, cpu = time.time(), time.process_time()
    deadline = time.monotonic() + mode.measure
    # run_due's own deadline is not checked while claims come back full (a backlog): stop it from outside.
    profiler.runcall(run_due, duration=mode.measure, stop=lambda: time.monotonic() > deadline)
    end, cpu = time.time(), time.process_time() - cpu
    found, _ = lags(shop.log()["calls"], {p.payment_id: pk for pk, p in rows.items()}, start + 2 * interval(), end)
    level = Level(n, end - start - 2 * interval(), found, Cpu(cpu, 0.0, float("nan")), 0)
    print(
        f"run_due in this process under cProfile, {n} in flight: {level.rate:.0f} inquiries/s, lag p50 "
        f"{level.lag(0.5) * 1000:.0f} ms p95 {level.lag(0.95) * 1000:.0f} ms, {level.per_inquiry_ms(cpu):.2f} ms CPU "
        f"per inquiry (profiling slows it down); functions by CPU time:"
    )
    for order in ("tottime", "cumulative"):
        stats = pstats.Stats(profiler).strip_dirs().sort_stats(order)
        stats.print_stats(30)


# -- main ------------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a small run for CI; reports, does not judge")
    parser.add_argument("--levels", help="in-flight payments to measure, comma-separated (default: the mode's)")
    parser.add_argument("--capacity-only", action="store_true", help="measure only the capacity and the floor")
    parser.add_argument("--profile", type=int, metavar="N", help="profile run_due in-process with N in flight")
    parser.add_argument("--serve-simulator", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_simulator:
        serve_simulator()
        return 0
    mode = MODES["smoke" if args.smoke else "full"]
    if args.levels:
        mode = replace(mode, levels=tuple(int(n) for n in args.levels.split(",")))
    started = time.monotonic()
    sim, sim_url = start_simulator()
    notify_port = free_port()
    os.environ["ANTOM_BENCH_GATEWAY_URL"] = sim_url
    os.environ["ANTOM_BENCH_NOTIFY_URL"] = f"http://127.0.0.1:{notify_port}/antom/notify/"
    processes: list[subprocess.Popen[Any]] = [sim]
    created, failed = False, True
    try:
        created = prepare_database()
        if args.profile:
            shop = Shop(sim_url)
            profile(args.profile, mode, shop, shop.open(args.profile))
            return 0
        status = run(mode, args.smoke, sim_url, notify_port, processes, started, settle=not args.capacity_only)
        failed = False  # a missed target is no reason to show the worker's output; a crash is
        return status
    finally:
        for process in reversed(processes):
            stop(process)
        if created:
            drop_database()
        for log in WORKER_LOGS:
            if failed:
                print(f"--- celery worker output ({log}) ---\n{log.read_text(errors='replace')[-4000:]}")
            else:
                log.unlink(missing_ok=True)


def run(
    mode: Mode,
    smoke: bool,
    sim_url: str,
    notify_port: int,
    processes: list[subprocess.Popen[Any]],
    started: float,
    *,
    settle: bool = True,
) -> int:
    """The three measurements, reported and judged; the exit status."""
    print(
        f"polling ({'smoke' if smoke else 'full'}): one celery worker (-P solo) running antom_django.process_due, "
        f"simulator in its own process, PostgreSQL; {os.cpu_count()} CPUs, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} at start"
    )
    shop = Shop(sim_url)
    pool = shop.open(max(*mode.levels, mode.burst))
    floor = measure_floor(shop, pool, mode.floor_calls)
    beat = Beat()
    beat.start()
    beat.purge()
    worker = start_worker()
    processes.append(worker)
    processes.append(start_notify_server(notify_port))
    beat.wait_for_worker(worker)
    levels: list[Level] = []
    for n in mode.levels:
        levels.append(measure_level(n, mode, shop, pool, beat, (worker.pid, processes[0].pid)))
        if not levels[-1].holds:
            break  # more only lags more
    burst = measure_burst(mode.burst, shop, pool, beat, (worker.pid, processes[0].pid))
    settled = measure_settled(mode, shop, beat, f"http://127.0.0.1:{notify_port}/antom/notify/") if settle else None
    beat.done.set()
    print(f"({time.monotonic() - started:.0f} s)")
    missed = report_targets(report(levels, burst, floor, settled), smoke=smoke)
    if missed and not smoke:
        print(f"FAIL: target MISSED: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
