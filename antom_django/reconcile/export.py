"""CSV export of payments, captures and refunds for accounting: one file, one ``kind`` column.

One file so that a spreadsheet or an import sees every movement of a period in order; ``kind`` tells the
rows apart. Amounts are in major units of their currency (``42.00`` SGD, ``4200`` JPY), as text, never floats.
Rows are produced lazily so a view can stream them (``StreamingHttpResponse``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from ..client.money import to_major_units
from ..models import Capture, Payment, Refund
from .check import day_range

COLUMNS = (
    "kind",
    "created_at",
    "settled_at",
    "payment_request_id",
    "payment_id",
    "reference_order_id",
    "request_id",
    "antom_id",
    "status",
    "currency",
    "amount",
    "captured",
    "refunded",
    "result_code",
)
"""The header row. ``request_id`` / ``antom_id``: the capture's or refund's (the payment's own for a payment);
``captured`` / ``refunded``: the payment's totals (empty on capture and refund rows)."""

CHUNK = 1000


class _Echo:
    """A file-like object whose ``write`` hands back the line (``csv.writer`` into a generator)."""

    def write(self, value: str) -> str:
        return value


def _when(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else ""


def _major(minor: int, currency: str) -> str:
    return str(to_major_units(minor, currency))


def payment_rows(since: date, until: date) -> Iterator[list[str]]:
    start, end = day_range(since, until)
    payments = Payment.objects.filter(created_at__gte=start, created_at__lt=end).order_by("created_at", "pk")
    for p in payments.iterator(chunk_size=CHUNK):
        yield [
            "payment",
            _when(p.created_at),
            _when(p.paid_at),
            p.payment_request_id,
            p.payment_id,
            p.reference_order_id,
            p.payment_request_id,
            p.payment_id,
            p.status,
            p.currency,
            _major(p.amount, p.currency),
            _major(p.captured_amount, p.currency),
            _major(p.refunded_amount, p.currency),
            p.result_code,
        ]


def ledger_rows(ledger: type[Capture | Refund], since: date, until: date) -> Iterator[list[str]]:
    start, end = day_range(since, until)
    rows: Any = (
        ledger.objects.filter(created_at__gte=start, created_at__lt=end)
        .select_related("payment")
        .order_by("created_at", "pk")
    )
    for row in rows.iterator(chunk_size=CHUNK):
        p = row.payment
        yield [
            ledger.noun,
            _when(row.created_at),
            _when(row.settled_at),
            p.payment_request_id,
            p.payment_id,
            p.reference_order_id,
            row.request_id,
            row.antom_id,
            row.status,
            row.currency,
            _major(row.amount, row.currency),
            "",
            "",
            row.result_code,
        ]


def export_rows(since: date, until: date) -> Iterator[list[str]]:
    """The header, then payments, captures and refunds created from ``since`` to ``until`` (UTC days, inclusive)."""
    yield list(COLUMNS)
    yield from payment_rows(since, until)
    yield from ledger_rows(Capture, since, until)
    yield from ledger_rows(Refund, since, until)


def export_lines(since: date, until: date) -> Iterator[str]:
    """:func:`export_rows` as CSV lines (``\\r\\n``-terminated, quoted where needed)."""
    writer = csv.writer(_Echo())
    for row in export_rows(since, until):
        yield writer.writerow([_safe(cell) for cell in row])


def _safe(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula (ids and codes come from outside)."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@") else cell


def filename(since: date, until: date) -> str:
    return f"antom-{since.isoformat()}-{until.isoformat()}.csv"
