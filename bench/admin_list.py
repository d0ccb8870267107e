"""The Django admin's payment list at 100,000 payments, beside the same pages at 1,000 measured in the same run.

Two PostgreSQL databases are created, migrated and filled by set-based INSERTs (``generate_series``): payments
spread over a year with a shop's mix of statuses and currencies, their captures, refunds, notifications and
timeline events; then ``VACUUM ANALYZE`` as autovacuum would. A superuser signed in with Django's test client
asks for each page of the list (unfiltered, each filter, searches, the date hierarchy) from the small and the
large database in turn, page by page, so drift of the machine hits both sizes alike. For each page it prints the
time (median of the repeats), the number of SQL queries and their total time, large ÷ small, and the indexes
PostgreSQL's plan uses for each query at the large size (EXPLAIN; a ``Seq Scan`` of a payment, capture, refund,
notification or event table is reported as such, and fails the run unless a ``Limit`` node is above it in the
plan: the paginator's capped count and the date hierarchy's capped span, which stop after their caps' rows). A bare ``SELECT`` of the list's 100 newest rows is timed the
same way, for the database's own large ÷ small.

Usage: ``python bench/admin_list.py`` (1,000 vs 100,000; fails if a target is missed) or ``--smoke`` (200 vs
2,000, two repeats; reports, does not judge). ``ANTOM_BENCH_DATABASE_URL`` names the large database (default
``postgres://postgres@127.0.0.1:5432/antom_bench_admin``); the small one is the same name + ``_small``. Both are
created if missing (and then dropped at the end), and emptied before they are filled.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.admin_site"

from bench.database import create_and_migrate, drop_database  # noqa: E402
from bench.targets import Target, report_targets  # noqa: E402

TARGET_TIME_RATIO = 1.5  # a page's time at the large size ÷ at the small size, at most
LIST = "/admin/antom_django/payment/"
SIZES = ("small", "default")  # database aliases (bench/admin_site.py)

MODES = {
    #        small, large, repeats
    "full": (1_000, 100_000, 7),
    "smoke": (200, 2_000, 2),
}

# -- the data ---------------------------------------------------------------------------------------------------

# One payment every 5 minutes back from now (100,000 ≈ 347 days). r spreads the statuses over time; the open
# ones (authorized in the last 7 days, pending in the last hour) are recent, as they are in a shop whose
# background work closes the rest. Shares are such that 1,000 payments fill a page (50) for each filter that can.
PAYMENTS_SQL = """
INSERT INTO antom_django_payment (created_at, updated_at, payment_request_id, payment_id, status, amount, currency,
    captured_amount, refunded_amount, is_authorization, capture_mode, description, session_id, session_data,
    session_expires_at, auth_expires_at, paid_at, card_brand, card_funding, card_issuing_country, card_last4,
    result_code, result_message, needs_review, review_reason, reference_order_id, session_request, session_response,
    gateway_data, cancel_requested_at, next_check_at)
SELECT t, t + interval '2 minutes', 'PR' || md5('pr' || i), CASE WHEN status = 'PENDING' THEN '' ELSE
    '2026' || lpad(i::text, 14, '0') END, status, amount, currency,
    CASE WHEN status IN ('SUCCEEDED', 'REFUNDED') THEN amount WHEN status = 'PARTIALLY_CAPTURED' THEN amount / 2
        ELSE 0 END,
    CASE WHEN status = 'REFUNDED' THEN amount WHEN status = 'SUCCEEDED' AND r < 40 THEN amount / 4 ELSE 0 END,
    true, '', 'Order ' || i, 'ps_' || md5('s' || i), 'sd_' || repeat(md5('d' || i), 6), t + interval '1 hour',
    CASE WHEN status IN ('AUTHORIZED', 'PARTIALLY_CAPTURED') THEN t + interval '7 days' END,
    CASE WHEN status NOT IN ('PENDING', 'FAILED') THEN t + interval '1 minute' END,
    (ARRAY['VISA', 'MASTERCARD', 'AMEX'])[1 + i % 3], 'CREDIT', 'SG', lpad((i % 10000)::text, 4, '0'),
    CASE WHEN status = 'FAILED' THEN 'ORDER_IS_CLOSED' ELSE 'SUCCESS' END, '',
    flagged, CASE WHEN flagged THEN 'Antom says FAILED but the payment is SUCCEEDED' ELSE '' END,
    'ORD-' || (1000000 + i),
    jsonb_build_object('paymentRequestId', 'PR' || md5('pr' || i), 'order', jsonb_build_object('referenceOrderId',
        'ORD-' || (1000000 + i), 'orderDescription', 'Order ' || i, 'orderAmount', jsonb_build_object('currency',
        currency, 'value', amount::text)), 'paymentNotifyUrl', 'https://shop.example.com/antom/notify/',
        'settlementStrategy', jsonb_build_object('settlementCurrency', currency)),
    jsonb_build_object('result', jsonb_build_object('resultCode', 'SUCCESS', 'resultStatus', 'S'),
        'paymentSessionData', 'sd_' || repeat(md5('d' || i), 6), 'paymentSessionId', 'ps_' || md5('s' || i)),
    CASE WHEN status = 'PENDING' THEN '{}'::jsonb ELSE jsonb_build_object('result', jsonb_build_object(
        'resultCode', 'SUCCESS', 'resultStatus', 'S'), 'paymentStatus', 'SUCCESS', 'paymentId',
        '2026' || lpad(i::text, 14, '0'), 'paymentAmount', jsonb_build_object('currency', currency, 'value',
        amount::text), 'paymentResultInfo', jsonb_build_object('cardBrand', 'VISA', 'cardNo', '************4242',
        'funding', 'CREDIT', 'issuingCountry', 'SG', 'threeDSResult', jsonb_build_object('eci', '05')))
    END,
    NULL,  -- cancel_requested_at: cleared by the move to CANCELLED
    CASE WHEN status IN ('PENDING', 'PROCESSING', 'AUTHORIZED', 'PARTIALLY_CAPTURED') THEN now() END
FROM (
    SELECT i, r, t, 500 + (i * 37) % 50000 AS amount,
        -- staff clear flags as they come: 1 in 15 of the last week's payments, 1 in 2,500 older ones left
        CASE WHEN t > now() - interval '7 days' THEN i % 15 = 7 ELSE i % 2500 = 7 END AS flagged,
        CASE WHEN c < 60 THEN 'SGD' WHEN c < 75 THEN 'USD' WHEN c < 85 THEN 'HKD' WHEN c < 95 THEN 'JPY'
            ELSE 'KWD' END AS currency,
        CASE WHEN r < 620 THEN 'SUCCEEDED' WHEN r < 650 THEN 'REFUNDED'
            WHEN r < 720 THEN CASE WHEN t > now() - interval '7 days' THEN 'AUTHORIZED' ELSE 'SUCCEEDED' END
            WHEN r < 725 THEN CASE WHEN t > now() - interval '7 days' THEN 'PARTIALLY_CAPTURED' ELSE 'SUCCEEDED' END
            WHEN r < 850 THEN 'FAILED' WHEN r < 900 THEN 'CANCELLED'
            WHEN r < 990 THEN CASE WHEN t > now() - interval '1 hour' THEN 'PENDING' ELSE 'FAILED' END
            ELSE CASE WHEN t > now() - interval '1 hour' THEN 'PROCESSING' ELSE 'FAILED' END END AS status
    FROM (SELECT i, (i * 7919) % 1000 AS r, (i * 104729) % 100 AS c, now() - i * interval '5 minutes' AS t
          FROM generate_series(1::bigint, {n}) AS i) AS s
) AS p
"""

# A capture for every captured payment (pending if it is from the last half hour), a refund for every refunded one.
LEDGER_SQL = [
    """
    INSERT INTO antom_django_capture (created_at, updated_at, capture_request_id, capture_id, amount, currency, status,
        origin, is_last_capture, result_code, result_message, captured_at, source, gateway_data, payment_id)
    SELECT created_at + interval '1 minute', created_at + interval '2 minutes', 'CR' || md5('cr' || id),
        '2026c' || lpad(id::text, 14, '0'), captured_amount, currency,
        CASE WHEN created_at > now() - interval '30 minutes' THEN 'PENDING' ELSE 'SUCCEEDED' END,
        'MERCHANT', NULL, 'SUCCESS', 'success', created_at + interval '2 minutes', 'API',
        jsonb_build_object('result', jsonb_build_object('resultCode', 'SUCCESS', 'resultStatus', 'S'),
            'captureAmount', jsonb_build_object('currency', currency, 'value', captured_amount::text)), id
    FROM antom_django_payment WHERE captured_amount > 0
    """,
    """
    INSERT INTO antom_django_refund (created_at, updated_at, refund_request_id, refund_id, amount, currency, status,
        reason, result_code, result_message, refunded_at, source, gateway_data, payment_id)
    SELECT created_at + interval '1 day', created_at + interval '1 day', 'RR' || md5('rr' || id),
        '2026r' || lpad(id::text, 14, '0'), refunded_amount, currency, 'SUCCEEDED', 'Returned', 'SUCCESS',
        'success', created_at + interval '1 day', 'ADMIN',
        jsonb_build_object('result', jsonb_build_object('resultCode', 'SUCCESS', 'resultStatus', 'S')), id
    FROM antom_django_payment WHERE refunded_amount > 0
    """,
]

# A PAYMENT_RESULT for every payment with a result, a CAPTURE_RESULT for every capture; two timeline events per
# payment and one per capture and refund.
HISTORY_SQL = [
    """
    INSERT INTO antom_django_notification (body, notify_type, client_id, request_time, signature_verified, outcome,
        error, dedupe_key, remote_addr, created_at, processed_at, payment_id, fingerprint, last_received_at,
        received_count)
    SELECT gateway_data::text, 'PAYMENT_RESULT', 'SANDBOX_5YBZ1234', '2026-01-01T00:00:00+08:00',
        true, 'APPLIED', '', 'PAYMENT_RESULT:' || payment_id || ':S', '203.0.113.10', created_at + interval '1 minute',
        created_at + interval '1 minute', id, md5('n' || id) || md5('m' || id), created_at + interval '1 minute', 1
    FROM antom_django_payment WHERE payment_id <> ''
    """,
    """
    INSERT INTO antom_django_notification (body, notify_type, client_id, request_time, signature_verified, outcome,
        error, dedupe_key, remote_addr, created_at, processed_at, payment_id, fingerprint, last_received_at,
        received_count)
    SELECT gateway_data::text, 'CAPTURE_RESULT', 'SANDBOX_5YBZ1234', '2026-01-01T00:00:00+08:00', true, 'APPLIED',
        '', 'CAPTURE_RESULT:' || capture_id || ':S', '203.0.113.10', captured_at, captured_at, payment_id,
        md5('c' || id) || md5('d' || id), captured_at, 1
    FROM antom_django_capture WHERE status = 'SUCCEEDED'
    """,
    """
    INSERT INTO antom_django_paymentevent (kind, from_status, to_status, source, detail, created_at, payment_id,
        signals)
    SELECT 'STATUS', CASE WHEN k = 1 THEN 'INITIATED' ELSE 'PENDING' END,
        CASE WHEN k = 1 THEN 'PENDING' ELSE status END, CASE WHEN k = 1 THEN 'API' ELSE 'NOTIFICATION' END,
        jsonb_build_object('result_code', result_code), created_at + k * interval '1 minute', id, ''
    FROM antom_django_payment, generate_series(1, 2) AS k WHERE k = 1 OR status <> 'PENDING'
    """,
    """
    INSERT INTO antom_django_paymentevent (kind, from_status, to_status, source, detail, created_at, payment_id,
        capture_id, signals)
    SELECT 'CAPTURE', 'PENDING', status, 'API', '{}'::jsonb, updated_at, payment_id, id, '' FROM antom_django_capture
    """,
    """
    INSERT INTO antom_django_paymentevent (kind, from_status, to_status, source, detail, created_at, payment_id,
        refund_id, signals)
    SELECT 'REFUND', 'PENDING', status, 'ADMIN', '{}'::jsonb, updated_at, payment_id, id, '' FROM antom_django_refund
    """,
]
TABLES = ("payment", "capture", "refund", "notification", "paymentevent")


def fill(alias: str, n: int) -> dict[str, int]:
    """Empty the database ``alias`` and fill it with ``n`` payments and their history; the rows per table."""
    from django.contrib.auth.models import User
    from django.db import connections

    from bench.admin_site import use

    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE " + ", ".join(f"antom_django_{t}" for t in TABLES) + ", antom_django_bulkcapture, "
            "antom_django_bulkcapture_payments, django_session, auth_user RESTART IDENTITY CASCADE"
        )
        cursor.execute(PAYMENTS_SQL.replace("{n}", str(int(n))))
        for sql in [*LEDGER_SQL, *HISTORY_SQL]:
            cursor.execute(sql)
        cursor.execute("VACUUM ANALYZE")  # as autovacuum leaves a table: statistics, visibility map
        counts = {}
        for table in TABLES:
            cursor.execute(f"SELECT count(*) FROM antom_django_{table}")
            counts[table] = cursor.fetchone()[0]
    with use(alias):
        User.objects.create_superuser("bench", "bench@example.com", "bench")
    return counts


# -- the pages --------------------------------------------------------------------------------------------------


def pages(alias: str, n: int, deep: int) -> dict[str, str]:
    """Each page's query string; the searches look for the payment in the middle of ``alias``'s table, ``deep``
    is a page number both sizes have."""
    from django.db import connections
    from django.utils import timezone

    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT payment_request_id, payment_id, reference_order_id FROM antom_django_payment WHERE id = %s",
            [n // 2],
        )
        request_id, antom_id, reference = cursor.fetchone()
    today = timezone.localdate()
    day = today - timedelta(days=1)  # a whole day (288 payments), at whatever hour the bench runs
    return {
        "unfiltered": "",
        "status = SUCCEEDED": "?status__exact=SUCCEEDED",
        "status = AUTHORIZED": "?status__exact=AUTHORIZED",
        "status = FAILED": "?status__exact=FAILED",
        "currency = SGD": "?currency=SGD",
        "currency = KWD": "?currency=KWD",
        "needs review": "?needs_review__exact=1",
        "not flagged": "?needs_review__exact=0",
        "expiring within 7 days": "?expiring=7d",
        "expired": "?expiring=past",
        "stuck > 15 min": "?stuck=15m",
        "stuck > 1 day": "?stuck=1d",
        "search: payment request id": f"?q={request_id}",
        "search: Antom payment id": f"?q={antom_id}",
        "search: order reference": f"?q={reference}",
        "date: this year": f"?created_at__year={today.year}",
        "date: this month": f"?created_at__year={today.year}&created_at__month={today.month}",
        "date: yesterday": f"?created_at__year={day.year}&created_at__month={day.month}&created_at__day={day.day}",
        f"page {deep} (offset {(deep - 1) * 50})": f"?p={deep}",
        "status + currency + date": f"?status__exact=SUCCEEDED&currency=USD&created_at__year={today.year}",
    }


@dataclass
class Measure:
    """One page at one size: its times and SQL times over the repeats, rows shown, and its queries."""

    times: list[float] = field(default_factory=list)
    sql_times: list[float] = field(default_factory=list)
    rows: int = 0
    queries: list[str] = field(default_factory=list)

    @property
    def ms(self) -> float:
        return statistics.median(self.times) * 1000

    @property
    def sql_ms(self) -> float:
        return statistics.median(self.sql_times) * 1000


ROW = re.compile(r'<td class="action-checkbox">')


def get(client: Any, alias: str, url: str) -> tuple[float, float, str]:
    """One request for ``url`` from the database ``alias``: its time, the time inside SQL, the page."""
    from django.db import connections

    from bench.admin_site import use

    in_sql = 0.0

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal in_sql
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            in_sql += time.perf_counter() - started

    with use(alias), connections[alias].execute_wrapper(timed):
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"{url} on {alias}: HTTP {response.status_code}")
    return elapsed, in_sql, response.content.decode()


def capture(client: Any, alias: str, url: str) -> tuple[list[str], int]:
    """The page's SQL (as executed) and the rows the page lists."""
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connections[alias]) as captured:
        html = get(client, alias, url)[2]
    return [q["sql"] for q in captured.captured_queries], len(ROW.findall(html))


BOUNDED = " (under a LIMIT)"
"""Marks a sequential scan with a ``Limit`` above it in the plan: it stops once that many rows came through."""


def plan(alias: str, sql: str) -> list[str]:
    """The table reads in PostgreSQL's plan for ``sql``: index names, or ``Seq Scan on <table>`` (with
    :data:`BOUNDED` appended when a ``Limit`` node is above it)."""
    from django.db import connections

    if "antom_django_" not in sql or sql.startswith("EXPLAIN"):  # (a count's estimate is itself an EXPLAIN)
        return []
    with connections[alias].cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        found = cursor.fetchone()[0]
    reads: list[str] = []

    def walk(node: dict[str, Any], limited: bool) -> None:
        kind = node["Node Type"]
        if kind == "Seq Scan" and node["Relation Name"].startswith("antom_django_"):
            reads.append(f"Seq Scan on {node['Relation Name']}" + (BOUNDED if limited else ""))
        elif "Index Name" in node:
            reads.append(node["Index Name"])
        for child in node.get("Plans", []):
            walk(child, limited or kind == "Limit")

    walk((json.loads(found) if isinstance(found, str) else found)[0]["Plan"], False)
    return reads


def bare_select(alias: str, repeats: int) -> float:
    """Median ms of the list's 100 newest rows read with one plain SELECT (the database's own share)."""
    from django.db import connections

    sql = (
        "SELECT id, created_at, payment_request_id, status, amount, currency, captured_amount, refunded_amount, "
        "auth_expires_at, needs_review, review_reason, reference_order_id FROM antom_django_payment "
        "ORDER BY created_at DESC, id DESC LIMIT 100"
    )
    times = []
    with connections[alias].cursor() as cursor:
        for _ in range(repeats * 5):
            started = time.perf_counter()
            cursor.execute(sql)
            cursor.fetchall()
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


# -- the run ----------------------------------------------------------------------------------------------------


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(mode: str) -> int:
    small_n, large_n, repeats = MODES[mode]
    sizes = {"small": small_n, "default": large_n}
    created = {alias: create_and_migrate(alias) for alias in SIZES}
    try:
        return measure(mode, sizes, repeats)
    finally:
        for alias, made in created.items():
            if made:
                drop_database(alias)


def measure(mode: str, sizes: dict[str, int], repeats: int) -> int:
    from django.contrib.auth.models import User
    from django.test import Client

    from bench.admin_site import use

    print(f"admin payment list, {mode}: {sizes['small']:,} vs {sizes['default']:,} payments; load {load()}")
    for alias in SIZES:
        started = time.perf_counter()
        counts = fill(alias, sizes[alias])
        print(
            f"  filled {sizes[alias]:>7,} in {time.perf_counter() - started:5.1f} s: "
            + ", ".join(f"{v:,} {k}" for k, v in counts.items())
        )
    clients = {}
    for alias in SIZES:
        with use(alias):
            clients[alias] = Client()
            clients[alias].force_login(User.objects.get(username="bench"))
    urls = {alias: pages(alias, sizes[alias], sizes["small"] // 50) for alias in SIZES}
    names = list(urls["small"])
    results = {alias: {name: Measure() for name in names} for alias in SIZES}

    for name in names:  # warm up (templates, content types, connections), then the queries and their plans
        for alias in SIZES:
            get(clients[alias], alias, LIST + urls[alias][name])
            m = results[alias][name]
            m.queries, m.rows = capture(clients[alias], alias, LIST + urls[alias][name])
    for rep in range(repeats):
        for name in names:
            order = SIZES if rep % 2 == 0 else SIZES[::-1]
            for alias in order:
                elapsed, in_sql, _ = get(clients[alias], alias, LIST + urls[alias][name])
                results[alias][name].times.append(elapsed)
                results[alias][name].sql_times.append(in_sql)
    bare = {alias: bare_select(alias, repeats) for alias in SIZES}

    from antom_django.admin.periods import COUNT_EXACT_BELOW, SPAN_EXACT_BELOW

    small, large = sizes["small"], sizes["default"]
    head = f"{'page':28} {'rows':>9} {'queries':>7} {'ms ' + f'{small:,}':>9} {'ms ' + f'{large:,}':>10} "
    print(f"\n{head}{'×':>5} {'SQL ms':>11}  what the plans read at {large:,}")
    worst_ratio, grew, scans, capped = 0.0, [], [], []
    for name in names:
        s, g = results["small"][name], results["default"][name]
        ratio = g.ms / s.ms
        worst_ratio = max(worst_ratio, ratio)
        if len(g.queries) > len(s.queries) + 1:  # + 1: a count past the cap asks the planner's estimate
            grew.append(name)
        reads = sorted({r for sql in g.queries for r in plan("default", sql)})
        for r in reads:
            if r.startswith("Seq Scan"):
                # The paginator's count and the date hierarchy's span stop after their caps' rows (a LIMIT).
                (capped if r.endswith(BOUNDED) else scans).append(f"{name}: {r}")
        queries = f"{len(s.queries)}/{len(g.queries)}"
        print(
            f"{name:28} {s.rows:>4}/{g.rows:<4} {queries:>7} {s.ms:9.1f} {g.ms:10.1f} {ratio:5.2f} "
            f"{s.sql_ms:5.1f}/{g.sql_ms:<5.1f}  {', '.join(reads)}"
        )
    print(
        f"{'bare SELECT … LIMIT 100':28} {'':9} {'1/1':>7} {bare['small']:9.2f} {bare['default']:10.2f} "
        f"{bare['default'] / bare['small']:5.2f}"
    )
    print(f"median of {repeats} repeats, sizes alternating page by page; load {load()}\n")

    missed = report_targets(
        [
            Target(
                f"slowest page {large:,} ÷ {small:,}",
                f"{worst_ratio:.2f}×",
                f"≤ {TARGET_TIME_RATIO}×",
                worst_ratio <= TARGET_TIME_RATIO,
            ),
            Target("pages with 2+ more queries at the large size", str(len(grew)), "0", not grew),
            Target("sequential scans of the large tables with no LIMIT above", str(len(scans)), "0", not scans),
        ],
        smoke=mode == "smoke",
    )
    for line in grew + scans:
        print(f"  {line}")
    for line in capped:
        print(
            f"  stops at a LIMIT (the count's {COUNT_EXACT_BELOW + 1:,} or the span's {SPAN_EXACT_BELOW + 1:,}): {line}"
        )
    return 1 if missed and mode != "smoke" else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="200 vs 2,000 payments, two repeats; not judged")
    return run("smoke" if parser.parse_args().smoke else "full")


if __name__ == "__main__":
    sys.exit(main())
