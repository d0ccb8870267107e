"""Builders for the reconciliation tests: report files in each format, payments in a state, permissions."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType

from antom_django.models import Capture, Payment, Refund

SAMPLES = Path(__file__).resolve().parents[2] / "antom_django" / "reconcile" / "samples"
SAMPLE_FILES = ("transactions-utf8.csv", "transactions-gbk.csv", "transactions.xlsx")
SAMPLE_DAY = datetime.fromisoformat("2026-01-15T12:00:00+00:00")

HEADER = [
    "transactionType",
    "transactionRequestId",
    "originalTransactionRequestId",
    "transactionAmountValue",
    "transactionCurrency",
    "status",
    "transactionCreationTime",
]


def csv_report(
    rows: Sequence[Sequence[str]], *, header: Sequence[str] = HEADER, end: bool = True, encoding: str = "utf-8"
) -> bytes:
    """A CSV report: ``header``, ``rows``, then ``<END>`` (unless ``end`` is false)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    if end:
        writer.writerow(["<END>"])
    return buffer.getvalue().encode(encoding)


def xlsx_report(rows: Sequence[Sequence[Any]], *, header: Sequence[str] = HEADER, end: bool = True) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    if end:
        sheet.append(["<END>"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def payment(
    request_id: str,
    amount: int,
    currency: str = "SGD",
    status: str = Payment.Status.AUTHORIZED,
    *,
    paid_at: datetime | None = SAMPLE_DAY,
    **fields: Any,
) -> Payment:
    return Payment.objects.create(
        payment_request_id=request_id,
        payment_id=fields.pop("payment_id", f"A{request_id}"),
        amount=amount,
        currency=currency,
        status=status,
        reference_order_id=fields.pop("reference_order_id", f"order-{request_id}"),
        paid_at=paid_at,
        **fields,
    )


def capture(
    owner: Payment,
    request_id: str,
    amount: int,
    status: str = Capture.Status.SUCCEEDED,
    *,
    at: datetime | None = SAMPLE_DAY,
    **fields: Any,
) -> Capture:
    row = Capture.objects.create(
        payment=owner,
        capture_request_id=request_id,
        amount=amount,
        currency=owner.currency,
        status=status,
        captured_at=at,
        **fields,
    )
    if status == Capture.Status.SUCCEEDED:
        Payment.objects.filter(pk=owner.pk).update(captured_amount=owner.captured_amount + amount)
        owner.refresh_from_db()
    return row


def refund(
    owner: Payment,
    request_id: str,
    amount: int,
    status: str = Refund.Status.SUCCEEDED,
    *,
    at: datetime | None = SAMPLE_DAY,
) -> Refund:
    row = Refund.objects.create(
        payment=owner,
        refund_request_id=request_id,
        amount=amount,
        currency=owner.currency,
        status=status,
        refunded_at=at,
    )
    if status == Refund.Status.SUCCEEDED:
        Payment.objects.filter(pk=owner.pk).update(refunded_amount=owner.refunded_amount + amount)
        owner.refresh_from_db()
    return row


def grant(user: Any, *codenames: str) -> None:
    """Give ``user`` these permissions of the payment model (created if the migrations have not)."""
    content_type = ContentType.objects.get_for_model(Payment)
    for codename in codenames:
        permission, _ = Permission.objects.get_or_create(
            codename=codename, content_type=content_type, defaults={"name": codename.replace("_", " ")}
        )
        user.user_permissions.add(permission)
