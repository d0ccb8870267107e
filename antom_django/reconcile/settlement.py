"""A report file against our rows: what Antom settled that we do not know, what we recorded that Antom did
not settle in the file's period, and amounts that differ.

Rows are matched on transaction type + ``transactionRequestId`` (api-notes §8.6): AUTHORIZATION, PAYMENT,
CANCEL and VOID rows carry our paymentRequestId, CAPTURE rows our captureRequestId, REFUND rows our
refundRequestId. A capture Antom made by itself is matched through its payment (``originalTransactionRequestId``,
or a PAYMENT row of an automatically captured payment).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.db.models.functions import Coalesce

from ..models import Capture, Payment, Refund
from ..state import PAYMENT_PAID
from .check import day_range
from .reports import STATUS, Report, ReportRow

M = TypeVar("M", bound=Model)
L = Capture.Status
CHUNK = 500
"""Ids per ``IN (...)`` query (SQLite's older builds allow 999 parameters)."""
PAYMENT_TYPES = frozenset({"AUTHORIZATION", "PAYMENT"})
CANCEL_TYPES = frozenset({"CANCEL", "VOID"})


@dataclass(frozen=True)
class Entry:
    """One line of a comparison: which transaction, our amount and Antom's, and why it is listed."""

    type: str
    request_id: str
    payment_pk: int | None
    payment_request_id: str
    ours: str
    antom: str
    note: str
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entry:
        line = data.get("line")
        pk = data.get("payment_pk")
        return cls(
            type=str(data["type"]),
            request_id=str(data["request_id"]),
            payment_pk=int(pk) if pk is not None else None,
            payment_request_id=str(data.get("payment_request_id") or ""),
            ours=str(data.get("ours") or ""),
            antom=str(data.get("antom") or ""),
            note=str(data.get("note") or ""),
            line=int(line) if line is not None else None,
        )


@dataclass
class ReportComparison:
    """The three lists, the period compared and what was not compared."""

    period: tuple[date, date]
    unknown: list[Entry] = field(default_factory=list)
    """Antom settled it; we have no such row, or ours did not succeed."""
    unsettled: list[Entry] = field(default_factory=list)
    """We recorded it in the period; the report does not have it."""
    amounts: list[Entry] = field(default_factory=list)
    """Both have it, with different amounts or currencies."""
    matched: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    """Rows not compared, by reason (a failed transaction, a dispute or fee row)."""

    @property
    def clean(self) -> bool:
        return not (self.unknown or self.unsettled or self.amounts)


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    items = sorted(set(values))
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _by(queryset: QuerySet[M], field_name: str, values: Iterable[str]) -> dict[str, M]:
    found: dict[str, M] = {}
    for chunk in _chunks(values):
        for obj in queryset.filter(**{f"{field_name}__in": chunk}):
            found[getattr(obj, field_name)] = obj
    return found


class _Matcher:
    """Our payments, captures and refunds named by the report's rows, fetched in a few queries."""

    def __init__(self, rows: list[ReportRow]) -> None:
        payment_ids = {r.request_id for r in rows if r.type in PAYMENT_TYPES | CANCEL_TYPES}
        payment_ids |= {
            r.original_request_id for r in rows if r.type in ("CAPTURE", "REFUND") and r.original_request_id
        }
        payment_ids |= {r.request_id for r in rows if r.type == "CAPTURE"}
        self.payments = _by(Payment.objects.all(), "payment_request_id", payment_ids)
        self.captures = _by(
            Capture.objects.select_related("payment"),
            "capture_request_id",
            {r.request_id for r in rows if r.type == "CAPTURE"},
        )
        self.refunds = _by(
            Refund.objects.select_related("payment"),
            "refund_request_id",
            {r.request_id for r in rows if r.type == "REFUND"},
        )
        automatic = Capture.objects.filter(origin=Capture.Origin.AUTOMATIC).select_related("payment").order_by("pk")
        self.automatic: dict[int, list[Capture]] = {}
        for chunk in _chunks(p.payment_request_id for p in self.payments.values()):
            for capture in automatic.filter(payment__payment_request_id__in=chunk):
                self.automatic.setdefault(capture.payment_id, []).append(capture)
        self.matched_captures: set[int] = set()
        self.matched_refunds: set[int] = set()
        self.matched_payments: set[int] = set()

    def automatic_capture(self, payment: Payment | None) -> Capture | None:
        if payment is None:
            return None
        for capture in self.automatic.get(payment.pk, []):
            if capture.pk not in self.matched_captures:
                return capture
        return None


def compare_report(report: Report, period: tuple[date, date] | None = None) -> ReportComparison:
    """Compare ``report`` with our rows over ``period`` (default: the days its rows' times cover).

    Raises ``ValueError`` when no period is given and no row has a time.
    """
    period = period or report.period()
    if period is None:
        raise ValueError("the report's rows have no transaction times: give the period it covers")
    result = ReportComparison(period=period, skipped=Counter({f"{t} row": n for t, n in report.others.items()}))
    rows = []
    for row in report.rows:
        if row.succeeded:
            rows.append(row)
        else:
            result.skipped[f"{row.status} {row.type} row"] += 1
    matcher = _Matcher(rows)
    for row in rows:
        _compare_row(row, matcher, result)
    expect_authorizations = STATUS in report.columns  # only the transaction details report lists authorizations
    _unsettled(matcher, result, authorizations=expect_authorizations)
    return result


def _entry(row: ReportRow, payment: Payment | None, ours: str, note: str) -> Entry:
    return Entry(
        type=row.type,
        request_id=row.request_id,
        payment_pk=payment.pk if payment is not None else None,
        payment_request_id=payment.payment_request_id if payment is not None else row.original_request_id,
        ours=ours,
        antom=str(row.amount),
        note=note,
        line=row.line,
    )


def _compare_row(row: ReportRow, matcher: _Matcher, result: ReportComparison) -> None:
    if row.type in PAYMENT_TYPES | CANCEL_TYPES:
        payment = matcher.payments.get(row.request_id)
        if payment is None:
            result.unknown.append(_entry(row, None, "", "no payment with this paymentRequestId"))
            return
        matcher.matched_payments.add(payment.pk)
        if row.type == "PAYMENT" and not payment.is_authorization:
            capture = matcher.automatic_capture(payment)
            if capture is not None:
                matcher.matched_captures.add(capture.pk)
        if row.type in CANCEL_TYPES:
            if payment.status != Payment.Status.CANCELLED:
                result.unknown.append(
                    _entry(row, payment, payment.status, f"Antom cancelled it; ours is {payment.status}")
                )
            else:
                result.matched += 1
            return
        if payment.status not in PAYMENT_PAID:
            result.unknown.append(
                _entry(row, payment, str(payment.money), f"Antom settled it; ours is {payment.status}")
            )
        elif row.amount != payment.money:
            result.amounts.append(_entry(row, payment, str(payment.money), "amount differs"))
        else:
            result.matched += 1
        return
    ledger_row: Capture | Refund | None
    if row.type == "CAPTURE":
        ledger_row = matcher.captures.get(row.request_id)
        if ledger_row is None:
            owner = matcher.payments.get(row.original_request_id) or matcher.payments.get(row.request_id)
            ledger_row = matcher.automatic_capture(owner)
        if ledger_row is not None:
            matcher.matched_captures.add(ledger_row.pk)
    else:
        ledger_row = matcher.refunds.get(row.request_id)
        if ledger_row is not None:
            matcher.matched_refunds.add(ledger_row.pk)
    if ledger_row is None:
        owner = matcher.payments.get(row.original_request_id)
        result.unknown.append(_entry(row, owner, "", f"no {row.type.lower()} with this request id"))
        return
    payment = ledger_row.payment
    if ledger_row.status != L.SUCCEEDED:
        note = f"Antom settled it; ours is {ledger_row.status}"
        result.unknown.append(_entry(row, payment, str(ledger_row.money), note))
    elif row.amount != ledger_row.money:
        result.amounts.append(_entry(row, payment, str(ledger_row.money), "amount differs"))
    else:
        result.matched += 1


def _unsettled(matcher: _Matcher, result: ReportComparison, *, authorizations: bool) -> None:
    start, end = day_range(*result.period)
    window = {"when__gte": start, "when__lt": end}
    captures = (
        Capture.objects.filter(status=L.SUCCEEDED)
        .annotate(when=Coalesce("captured_at", "created_at"))
        .filter(**window)
        .select_related("payment")
        .order_by("when", "pk")
    )
    for capture in captures.iterator(chunk_size=CHUNK):
        if capture.pk not in matcher.matched_captures:
            result.unsettled.append(_ledger_entry("CAPTURE", capture))
    refunds = (
        Refund.objects.filter(status=L.SUCCEEDED)
        .annotate(when=Coalesce("refunded_at", "created_at"))
        .filter(**window)
        .select_related("payment")
        .order_by("when", "pk")
    )
    for refund in refunds.iterator(chunk_size=CHUNK):
        if refund.pk not in matcher.matched_refunds:
            result.unsettled.append(_ledger_entry("REFUND", refund))
    if not authorizations:
        return
    paid = (
        Payment.objects.filter(status__in=PAYMENT_PAID)
        .annotate(when=Coalesce("paid_at", "created_at"))
        .filter(**window)
        .order_by("when", "pk")
    )
    for payment in paid.iterator(chunk_size=CHUNK):
        if payment.pk not in matcher.matched_payments:
            kind = "AUTHORIZATION" if payment.is_authorization else "PAYMENT"
            result.unsettled.append(
                Entry(
                    kind,
                    payment.payment_request_id,
                    payment.pk,
                    payment.payment_request_id,
                    str(payment.money),
                    "",
                    "not in the report",
                )
            )


def _ledger_entry(kind: str, row: Capture | Refund) -> Entry:
    payment = row.payment
    return Entry(kind, row.request_id, payment.pk, payment.payment_request_id, str(row.money), "", "not in the report")
