"""Write the synthetic Antom report samples in antom_django/reconcile/samples/ (CSV UTF-8, CSV GBK, XLSX).

A transaction details report for one day, built from the documented columns (api-notes §8.6 and
antom_django.reconcile.reports): a header row, one row per transaction, a closing <END> line; amounts in
major units. The same rows in each format, byte for byte reproducible: run it again and git shows no change.

    python scripts/make_report_samples.py
"""

from __future__ import annotations

import csv
import io
import re
import sys
import zipfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "antom_django" / "reconcile" / "samples"
STAMP = (2026, 1, 16, 0, 0, 0)
MODIFIED = b"2026-01-16T00:00:00Z"

COLUMNS = [
    "settlementBatchId",
    "customerId",
    "PSP",
    "transactionType",
    "transactionId",
    "transactionRequestId",
    "originalTransactionRequestId",
    "orderDescription",
    "paymentMethodType",
    "status",
    "transactionCreationTime",
    "transactionCompletionTime",
    "productCode",
    "transactionAmountValue",
    "transactionCurrency",
    "settlementAmountValue",
    "settlementCurrency",
]

# (type, transactionId, transactionRequestId, originalTransactionRequestId, description, status, created, done,
#  amount, currency, settled, settlement currency)
ROWS = [
    (
        "AUTHORIZATION",
        "202601151000001",
        "pay_sample_001",
        "",
        "咖啡杯 Coffee mug",
        "SUCCESS",
        "2026-01-15T10:00:00+08:00",
        "2026-01-15T10:00:05+08:00",
        "42.00",
        "SGD",
        "",
        "",
    ),
    (
        "CAPTURE",
        "202601152000001",
        "cap_sample_001",
        "pay_sample_001",
        "咖啡杯 Coffee mug",
        "SUCCESS",
        "2026-01-15T11:00:00+08:00",
        "2026-01-15T11:00:02+08:00",
        "42.00",
        "SGD",
        "41.10",
        "SGD",
    ),
    (
        "AUTHORIZATION",
        "202601151000002",
        "pay_sample_002",
        "",
        "茶壶 Teapot",
        "SUCCESS",
        "2026-01-15 03:00:00",
        "2026-01-15 03:00:04",
        "1500",
        "JPY",
        "",
        "",
    ),
    (
        "CAPTURE",
        "202601152000002",
        "cap_sample_002",
        "pay_sample_002",
        "茶壶 Teapot",
        "SUCCESS",
        "2026-01-15 04:00:00",
        "2026-01-15 04:00:01",
        "1500",
        "JPY",
        "1455",
        "JPY",
    ),
    (
        "REFUND",
        "202601153000001",
        "ref_sample_002",
        "pay_sample_002",
        "茶壶 Teapot",
        "SUCCESS",
        "2026-01-15 05:00:00",
        "2026-01-15 05:00:03",
        "-500",
        "JPY",
        "-500",
        "JPY",
    ),
    (
        "AUTHORIZATION",
        "202601151000003",
        "pay_sample_003",
        "",
        "香料 Spices",
        "SUCCESS",
        "2026-01-15T06:00:00Z",
        "2026-01-15T06:00:04Z",
        "10.500",
        "KWD",
        "",
        "",
    ),
    (
        "CAPTURE",
        "202601152000003",
        "cap_sample_003",
        "pay_sample_003",
        "香料 Spices",
        "SUCCESS",
        "2026-01-15T07:00:00Z",
        "2026-01-15T07:00:01Z",
        "10.500",
        "KWD",
        "10.290",
        "KWD",
    ),
    (
        "AUTHORIZATION",
        "202601151000004",
        "pay_sample_004",
        "",
        "灯笼 Lantern",
        "FAIL",
        "2026-01-15T08:00:00Z",
        "2026-01-15T08:00:01Z",
        "12.00",
        "SGD",
        "",
        "",
    ),
    (
        "DISPUTE",
        "202601159000001",
        "",
        "pay_sample_000",
        "",
        "SUCCESS",
        "2026-01-15T09:00:00Z",
        "2026-01-15T09:00:00Z",
        "20.00",
        "SGD",
        "-20.00",
        "SGD",
    ),
]

COMMON = {
    "settlementBatchId": "20260115SGD001",
    "customerId": "2188120000000001",
    "PSP": "Antom",
    "paymentMethodType": "CARD",
    "productCode": "CASHIER_PAYMENT",
}


def records() -> list[list[str]]:
    names = [
        "transactionType",
        "transactionId",
        "transactionRequestId",
        "originalTransactionRequestId",
        "orderDescription",
        "status",
        "transactionCreationTime",
        "transactionCompletionTime",
        "transactionAmountValue",
        "transactionCurrency",
        "settlementAmountValue",
        "settlementCurrency",
    ]
    out = []
    for row in ROWS:
        values = {**COMMON, **dict(zip(names, row, strict=True))}
        if values["transactionType"] == "DISPUTE":
            values["paymentMethodType"] = "CARD"
        out.append([values.get(name, "") for name in COLUMNS])
    return out


def csv_text() -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(records())
    writer.writerow(["<END>"])
    return buffer.getvalue()


def xlsx_bytes() -> bytes:
    from openpyxl import Workbook  # noqa: PLC0415 - the [reports] extra

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "transactions"
    sheet.append(COLUMNS)
    amount_columns = {COLUMNS.index("transactionAmountValue"), COLUMNS.index("settlementAmountValue")}
    for record in records():
        # Amounts as numbers, as a spreadsheet keeps them: the reader turns them back into exact text.
        sheet.append([float(v) if i in amount_columns and v else v for i, v in enumerate(record)])
    sheet.append(["<END>"])
    workbook.properties.created = datetime(*STAMP)
    raw = io.BytesIO()
    workbook.save(raw)
    return _fixed_zip_times(raw.getvalue())


def _fixed_zip_times(data: bytes) -> bytes:
    """The same workbook with every member's time fixed, so the bytes do not change from run to run."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=STAMP)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time in it
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + MODIFIED, content)
            target.writestr(fixed, content)
    return out.getvalue()


def main() -> int:
    SAMPLES.mkdir(parents=True, exist_ok=True)
    text = csv_text()
    (SAMPLES / "transactions-utf8.csv").write_bytes(text.encode("utf-8-sig"))
    (SAMPLES / "transactions-gbk.csv").write_bytes(text.encode("gbk"))
    (SAMPLES / "transactions.xlsx").write_bytes(xlsx_bytes())
    for path in sorted(SAMPLES.iterdir()):
        print(f"{path.relative_to(ROOT)}  {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
