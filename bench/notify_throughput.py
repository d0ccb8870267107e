"""Notifications per second through POST antom/notify/ under gunicorn on PostgreSQL, beside a floor view.

The floor (bench/notify_site.py) does one INSERT of the body into the same
database and acknowledges. notify/ verifies the RSA signature and stores the
raw message in its own commit; each notification is a PAYMENT_RESULT for a
distinct pending payment. It runs in both modes, each in its own gunicorn:

- ``NOTIFY_APPLY = "queue"`` (judged against the targets): notify/ acknowledges
  once the message is stored; afterwards worker processes
  (``manage.py antom_apply_notifications``) apply everything, timed, and every
  notification must end APPLIED.
- ``"inline"`` (reported for reference): notify/ applies (row lock, status
  change, timeline event) before it acknowledges.

Runs alternate between the floor and notify/ so machine drift hits both alike;
then each is driven open-loop at half its peak rate to read the latency
percentiles (as many latency runs as throughput runs, alternating; the median
of their percentiles is reported, so one stall of the VM does not decide it). On Linux it also prints each endpoint's CPU per request by process
group (gunicorn workers, PostgreSQL, the load generator), which is what the
ratio comes down to on two cores.

Usage: ``python bench/notify_throughput.py`` (fails if a target is missed) or
``--smoke`` (a few hundred requests; checks every notification is acknowledged
and applied, reports figures without judging them). Load goes only to
127.0.0.1, bounded in count and time. ``ANTOM_BENCH_DATABASE_URL`` selects the
database (default ``postgres://postgres@127.0.0.1:5432/antom_bench``; created
if missing — and then dropped at the end —, its tables emptied before each run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.notify_site"

from bench.database import create_and_migrate, drop_database  # noqa: E402
from bench.targets import Target, report_targets  # noqa: E402

TARGET_RATIO = 0.60  # notify/ throughput ÷ floor throughput, at least
TARGET_P99_MS = 25.0  # notify/ p99 at half its peak rate, at most

MODES = {
    #        requests per run, runs each, concurrency, latency seconds, gunicorn workers
    "full": (3000, 3, 16, 10.0, 4),
    "smoke": (150, 1, 8, 1.5, 2),
}
TIME_LIMIT_S = 120.0  # any single phase is cut off after this long
DRAIN_WORKERS = 2  # worker processes applying what queue mode stored (one per core)


@dataclass
class Phase:
    name: str
    sent: int
    ok: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(q * len(data)))]


# -- setup ---------------------------------------------------------------------------------------


def prepare_database() -> bool:
    """Create (if missing), migrate and empty the bench database; True if this run created it."""
    created = create_and_migrate()
    from django.db import connection

    from bench.notify_site import FLOOR_TABLE

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {FLOOR_TABLE} (id bigserial PRIMARY KEY, body text NOT NULL, "
            "created_at timestamptz NOT NULL)"
        )
        cursor.execute(
            f"TRUNCATE {FLOOR_TABLE}, antom_django_notification, antom_django_paymentevent, "
            "antom_django_capture, antom_django_refund, antom_django_payment RESTART IDENTITY CASCADE"
        )
    return created


def make_notifications(count: int, tag: str) -> list[bytes]:
    """``count`` pending payments and, for each, a PAYMENT_RESULT signed as Antom: full HTTP requests."""
    from antom_django.client.keys import load_private_key
    from antom_django.client.signing import Signer, build_signature_header
    from antom_django.models import Payment
    from bench.notify_site import VECTORS

    template = json.loads((ROOT / "tests" / "fixtures" / "notifyPayment_success.json").read_text())
    Payment.objects.bulk_create(
        [
            Payment(
                payment_request_id=f"bench-{tag}-{i}",
                amount=4200,
                currency="SGD",
                status=Payment.Status.PENDING,
                reference_order_id=f"order-{tag}-{i}",
                session_id=f"s-{tag}-{i}",
            )
            for i in range(count)
        ],
        batch_size=1000,
    )
    signer = Signer(load_private_key(VECTORS["antom_private_key"]))
    request_time = str(int(time.time() * 1000))
    requests = []
    for i in range(count):
        payload = {**template, "paymentRequestId": f"bench-{tag}-{i}", "paymentId": f"antom-{tag}-{i}"}
        body = json.dumps(payload, separators=(",", ":")).encode()
        signature = signer.sign("POST", "/antom/notify/", VECTORS["client_id"], request_time, body)
        headers = {
            "client-id": VECTORS["client_id"],
            "request-time": request_time,
            "signature": build_signature_header(signature),
        }
        requests.append(http_request("/antom/notify/", body, headers))
    return requests


def make_floor_requests(count: int) -> list[bytes]:
    body = (ROOT / "tests" / "fixtures" / "notifyPayment_success.json").read_bytes()
    return [http_request("/floor/", body, {}) for _ in range(count)]


def http_request(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# -- gunicorn ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def site_env(apply_mode: str) -> dict[str, str]:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.notify_site", "ANTOM_BENCH_NOTIFY_APPLY": apply_mode}


def start_server(workers: int, apply_mode: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = site_env(apply_mode)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "django.core.wsgi:get_wsgi_application()",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--backlog",
            "512",
            "--chdir",
            str(ROOT),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server, port
        except OSError:
            time.sleep(0.1)
    stop_server(server)
    raise SystemExit("gunicorn did not start within 30 s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


# -- load ----------------------------------------------------------------------------------------


async def one(port: int, raw: bytes) -> tuple[bool, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.startswith(b"HTTP/1.1 200") or head.startswith(b"HTTP/1.0 200"), body


async def closed_loop(name: str, port: int, requests: list[bytes], concurrency: int, ack: bytes) -> Phase:
    """``concurrency`` clients each sending the next request as soon as the last is answered."""
    queue = iter(requests)
    ok = 0
    latencies: list[float] = []
    bad: list[bytes] = []

    async def client() -> None:
        nonlocal ok
        for raw in queue:
            started = time.perf_counter()
            good, body = await one(port, raw)
            latencies.append((time.perf_counter() - started) * 1000)
            if good and body == ack:
                ok += 1
            elif len(bad) < 3:
                bad.append(body[:200])

    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(client() for _ in range(concurrency))), TIME_LIMIT_S)
    seconds = time.perf_counter() - started
    if bad:
        print(f"  {name}: {len(requests) - ok} not acknowledged, e.g. {bad[0]!r}")
    return Phase(name, len(requests), ok, seconds, latencies)


async def open_loop(name: str, port: int, requests: list[bytes], rate: float, ack: bytes) -> Phase:
    """Requests started on a fixed schedule; latency counts from the scheduled start (no coordinated omission)."""
    interval = 1.0 / rate
    latencies: list[float] = []
    ok = 0

    async def fire(raw: bytes, due: float) -> None:
        nonlocal ok
        good, body = await one(port, raw)
        latencies.append((time.perf_counter() - due) * 1000)
        ok += good and body == ack

    tasks = []
    begin = time.perf_counter()
    for i, raw in enumerate(requests):
        due = begin + i * interval
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(fire(raw, due)))
    await asyncio.wait_for(asyncio.gather(*tasks), TIME_LIMIT_S)
    return Phase(name, len(requests), ok, time.perf_counter() - begin, latencies)


# -- CPU accounting ------------------------------------------------------------------------------


def cpu_by_group(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the gunicorn processes, PostgreSQL (its background processes and the
    backends connected to the bench database) and this load generator (Linux ``/proc``; empty elsewhere).
    Both endpoints share the machine, so CPU per request is what the throughput ratio comes down to."""
    from django.conf import settings

    database = str(settings.DATABASES["default"]["NAME"])
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return {}
    tick = os.sysconf("SC_CLK_TCK")
    totals = {"gunicorn": 0.0, "postgres": 0.0, "load generator": 0.0}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        used = (int(fields[11]) + int(fields[12])) / tick
        if int(entry.name) == os.getpid():
            totals["load generator"] += used
        elif command.startswith("postgres") or "/bin/postgres " in command:
            words = command.split()
            is_backend = any(word.endswith(")") and "(" in word for word in words)  # "host(port)"
            if database in words or not is_backend:
                totals["postgres"] += used
        elif "gunicorn" in command and (int(entry.name) == server_pid or int(fields[1]) == server_pid):
            totals["gunicorn"] += used
    return totals


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before.get(name, 0.0) for name in after}


# -- main ----------------------------------------------------------------------------------------


def count_applied() -> int:
    from antom_django.models import Notification

    return Notification.objects.filter(outcome=Notification.Outcome.APPLIED).count()


def queries_per_notification(apply_mode: str) -> int:
    """SQL statements notify/ runs for one notification in ``apply_mode``, measured in-process."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    raw = make_notifications(1, f"queries-{apply_mode}")[0]
    head, _, body = raw.partition(b"\r\n\r\n")
    headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
    wanted = {k: headers[k] for k in ("client-id", "request-time", "signature")}
    with (
        override_settings(ANTOM={**settings.ANTOM, "NOTIFY_APPLY": apply_mode}),
        CaptureQueriesContext(connection) as ctx,
    ):
        response = Client().post("/antom/notify/", data=body, content_type="application/json", headers=wanted)
    assert response.status_code == 200, response.content
    if apply_mode == "queue":
        from antom_django.services import apply_pending_notifications

        apply_pending_notifications()  # so the drain timed later applies exactly the measured ones
    return len(ctx.captured_queries)


@dataclass
class Measured:
    """One mode's figures: closed-loop runs of both endpoints, open-loop latency, CPU per request."""

    floor_runs: list[Phase]
    notify_runs: list[Phase]
    latency_floor: list[Phase]
    latency_notify: list[Phase]
    cpu: dict[str, dict[str, float]]
    sent: int

    @property
    def floor_peak(self) -> float:
        return statistics.median(p.rate for p in self.floor_runs)

    @property
    def notify_peak(self) -> float:
        return statistics.median(p.rate for p in self.notify_runs)

    def latency(self, name: str, q: float) -> float:
        """The median over the latency runs of endpoint ``name``'s ``q`` percentile, in ms."""
        runs_ = self.latency_notify if name == "notify" else self.latency_floor
        return statistics.median(p.percentile(q) for p in runs_)

    @property
    def ratio(self) -> float:
        return self.notify_peak / self.floor_peak if self.floor_peak else 0.0


def measure(apply_mode: str, mode: str) -> Measured:
    """Both endpoints under one gunicorn serving notify/ in ``apply_mode``."""
    per_run, runs, concurrency, latency_s, workers = MODES[mode]
    from antom_django.client.types import ACK_BODY

    notify_batches = [make_notifications(per_run, f"{apply_mode}{r}") for r in range(runs)]
    floor_batches = [make_floor_requests(per_run) for _ in range(runs)]
    server, port = start_server(workers, apply_mode)
    try:
        loop = asyncio.new_event_loop()
        loop.run_until_complete(closed_loop("warm-up", port, make_floor_requests(50), concurrency, ACK_BODY))
        floor_runs: list[Phase] = []
        notify_runs: list[Phase] = []
        cpu: dict[str, dict[str, float]] = {"floor": {}, "notify": {}}
        for r in range(runs):
            for name, batch, results in (("floor", floor_batches, floor_runs), ("notify", notify_batches, notify_runs)):
                before = cpu_by_group(server.pid)
                results.append(loop.run_until_complete(closed_loop(name, port, batch[r], concurrency, ACK_BODY)))
                for group, used in cpu_delta(before, cpu_by_group(server.pid)).items():
                    cpu[name][group] = cpu[name].get(group, 0.0) + used
        for group_cpu in cpu.values():
            for group in group_cpu:
                group_cpu[group] /= per_run * runs
        notify_half = statistics.median(p.rate for p in notify_runs) / 2
        floor_half = statistics.median(p.rate for p in floor_runs) / 2
        latency_notify: list[Phase] = []
        latency_floor: list[Phase] = []
        for r in range(runs):
            lat_batch = make_notifications(max(20, int(notify_half * latency_s)), f"{apply_mode}-lat{r}")
            latency_notify.append(loop.run_until_complete(open_loop("notify", port, lat_batch, notify_half, ACK_BODY)))
            floor_batch = make_floor_requests(max(20, int(floor_half * latency_s)))
            latency_floor.append(loop.run_until_complete(open_loop("floor", port, floor_batch, floor_half, ACK_BODY)))
        loop.close()
    finally:
        stop_server(server)
    sent = per_run * runs + sum(p.sent for p in latency_notify)
    return Measured(floor_runs, notify_runs, latency_floor, latency_notify, cpu, sent)


def drain(workers: int) -> float:
    """Worker processes (``manage.py antom_apply_notifications``) apply what queue mode stored; seconds taken."""
    command = [sys.executable, "-m", "django", "antom_apply_notifications", "--limit", "1000000000"]
    started = time.perf_counter()
    procs = [subprocess.Popen(command, env=site_env("queue"), cwd=ROOT) for _ in range(workers)]
    try:
        for proc in procs:
            if proc.wait(timeout=TIME_LIMIT_S * 5) != 0:
                raise SystemExit(f"antom_apply_notifications exited with {proc.returncode}")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    return time.perf_counter() - started


def report(title: str, measured: Measured, queries: int) -> None:
    print(f"{title} ({queries} SQL statements in the request)")
    print(f"  {'':8}{'req/s (median)':>16}{'runs':>28}")
    for name, runs_ in (("floor", measured.floor_runs), ("notify", measured.notify_runs)):
        peak = statistics.median(p.rate for p in runs_)
        print(f"  {name:8}{peak:16.0f}{'  '.join(f'{p.rate:.0f}' for p in runs_):>28}")
    m = measured
    print(
        f"  ratio notify/floor: {m.ratio:.2f}; at half peak (median of {len(m.latency_notify)} runs): "
        f"notify {m.notify_peak / 2:.0f}/s p50 {m.latency('notify', 0.50):.1f} ms p99 {m.latency('notify', 0.99):.1f} ms, "
        f"floor {m.floor_peak / 2:.0f}/s p50 {m.latency('floor', 0.50):.1f} ms p99 {m.latency('floor', 0.99):.1f} ms"
    )
    print(f"  notify p99 per latency run: {'  '.join(f'{p.percentile(0.99):.1f}' for p in m.latency_notify)} ms")
    for name, per in measured.cpu.items():
        if per:
            parts = ", ".join(f"{group} {seconds * 1000:.2f}" for group, seconds in per.items())
            print(f"  CPU ms per request, {name}: {sum(per.values()) * 1000:.2f} ({parts})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a small run for CI; reports, does not judge")
    args = parser.parse_args()
    mode = "smoke" if args.smoke else "full"
    created = prepare_database()
    try:
        return run(mode, args.smoke)
    finally:
        if created:
            drop_database()


def run(mode: str, smoke: bool) -> int:
    """Both modes, measured and judged; the exit status."""
    per_run, runs, concurrency, _, workers = MODES[mode]
    queries = {apply_mode: queries_per_notification(apply_mode) for apply_mode in ("queue", "inline")}
    print(
        f"notify_throughput ({mode}): {per_run} requests x {runs} runs each, concurrency {concurrency}, "
        f"gunicorn {workers} sync workers, PostgreSQL"
    )
    failures = []

    applied_before = count_applied()
    queued = measure("queue", mode)
    seconds = drain(DRAIN_WORKERS)
    applied = count_applied() - applied_before
    report("NOTIFY_APPLY = 'queue': acknowledged once stored (judged)", queued, queries["queue"])
    print(
        f"  then {DRAIN_WORKERS} worker processes applied {applied}/{queued.sent} in {seconds:.1f} s "
        f"({applied / seconds:.0f}/s)"
    )
    if applied != queued.sent:
        failures.append(f"queue mode: {queued.sent - applied} notifications were not applied")

    applied_before = count_applied()
    inline = measure("inline", mode)
    applied = count_applied() - applied_before
    report("NOTIFY_APPLY = 'inline': applied before the acknowledgment (reference)", inline, queries["inline"])
    print(f"  applied {applied}/{inline.sent}")
    if applied != inline.sent:
        failures.append(f"inline mode: {inline.sent - applied} notifications were not applied")

    p99 = queued.latency("notify", 0.99)
    targets = [
        Target(
            "queue mode: req/s notify/floor",
            f"{queued.ratio:.2f}",
            f"≥ {TARGET_RATIO:.2f}",
            queued.ratio >= TARGET_RATIO,
        ),
        Target("queue mode: p99 at half peak", f"{p99:.1f} ms", f"< {TARGET_P99_MS:.0f} ms", p99 < TARGET_P99_MS),
    ]
    missed = report_targets(targets, smoke=smoke)
    if not smoke:
        failures += [f"target MISSED: {name}" for name in missed]
    for failure in failures:
        print(f"FAIL: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
