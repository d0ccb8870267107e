"""Read Antom's transaction and settlement report files (``antom/api-notes.md`` §8.6).

A report is CSV or XLSX; CSV text is UTF-8 (with or without a BOM) or GBK. It has a header row of Antom's
parameter names, data rows, and a closing ``<END>`` line. Amounts are in **major** units of the row's
currency (the API uses minor units), converted here with the currency's exponent. Rows are matched to ours
on ``transactionType`` + ``transactionRequestId`` (the meaning of ``transactionId`` changed between Antom's
documentation versions). Whatever the bytes, :func:`read_report` returns a :class:`Report` or raises
:class:`ReportError` with a sentence that says what is wrong and where.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ..client.money import MAX_MINOR_UNITS, Amount, MoneyError, normalize_currency, to_minor_units

# -- the documented columns: the one place this module names them -------------------------------------------

TYPE = "transactionType"
REQUEST_ID = "transactionRequestId"
"""Our paymentRequestId (AUTHORIZATION, PAYMENT, CANCEL, VOID), captureRequestId (CAPTURE) or refundRequestId."""
ORIGINAL_REQUEST_ID = "originalTransactionRequestId"
"""For a CAPTURE or REFUND: the paymentRequestId of the payment it belongs to."""
TRANSACTION_ID = "transactionId"
AMOUNT = "transactionAmountValue"
"""In major units of :data:`CURRENCY`."""
CURRENCY = "transactionCurrency"
STATUS = "status"
"""Transaction details report only; a row whose status is there and not SUCCESS settled nothing."""
TIME_COLUMNS = ("transactionCompletionTime", "transactionCreationTime", "transactionUpdateTime")
"""The row's time: the first of these that has a value (ISO 8601; a time without an offset is UTC)."""

REQUIRED_COLUMNS = (TYPE, REQUEST_ID, AMOUNT, CURRENCY)

DOCUMENTED_COLUMNS = frozenset(
    {
        # Antom's "Report field summary" (docs.antom.com /ac/reconcile/field_summary) and the transaction details
        # and settlement details pages (/ac/reconcile/transaction_details, /settlement_details).
        "settlementBatchId",
        "customerId",
        "PSP",
        "acquirer",
        "acquirerReferenceNo",
        "ARN",
        "referenceMerchantId",
        "referenceStoreId",
        TYPE,
        TRANSACTION_ID,
        REQUEST_ID,
        "originalTransactionId",
        ORIGINAL_REQUEST_ID,
        "referenceTransactionId",
        "orderDescription",
        "paymentMethodType",
        "wallet",
        STATUS,
        *TIME_COLUMNS,
        "settlementInitiatedDate",
        "settlementTime",
        "productCode",
        AMOUNT,
        CURRENCY,
        "convertedTransactionAmountValue",
        "convertedCurrency",
        "settlementAmountValue",
        "settlementCurrency",
        "quoteCurrencyPair",
        "quotePrice",
        "feeAmountValue",
        "feeCurrency",
        "processingFeeAmountValue",
        "processingFeeCurrency",
        "taxFeeAmountValue",
        "taxFeeCurrency",
        "interchangeFeeAmountValue",
        "interchangeFeeCurrency",
        "schemeFeeAmountValue",
        "schemeFeeCurrency",
        "acquirerMarkupAmountValue",
        "acquirerMarkupCurrency",
        "nonGuaranteeCouponValue",
        "nonGuaranteeCouponCurrency",
        "disputeHandlingFee",
        "disputeHandlingFeeCurrency",
        "disputeReverseFee",
        "disputeReverseFeeCurrency",
        "cardBrand",
        "issuingCountry",
        "funding",
        "paymentMethodVariant",
        "interchangeFeeCategory",
        "remarks",
    }
)
"""Every column name Antom documents for the transaction and settlement details reports; any other is refused."""

SUMMARY_COLUMNS = frozenset({"summaryType", "count"})
"""Columns only the settlement *summary* report has: it has no rows per transaction to match."""

MATCHED_TYPES = frozenset({"AUTHORIZATION", "PAYMENT", "CAPTURE", "REFUND", "CANCEL", "VOID"})
"""Transaction types matched to our payments, captures and refunds."""
OTHER_TYPES = frozenset(
    {
        "INCREMENTAL",
        "DISPUTE",
        "DISPUTE_REVERSAL",
        "PAYMENT_REVERSAL",
        "REFUND_REVERSAL",
        "SETTLEMENT_FEE",
        "ADJUSTMENT_FEE",
        "RESERVE",
        "RESERVE_WITHHOLDING",
        "RESERVE_RELEASE",
        "RESERVE_RELEASED",
        "COLLATERAL_WITHHOLDING",
        "COLLATERAL_WITHHELD",
        "COLLATERAL_RELEASE",
        "COLLATERAL_RELEASED",
        "RAPID_DISPUTE_RESOLUTION",
        "CDRN",
    }
)
"""Documented types that are not ours to match (disputes, fees, reserves): counted, not compared."""

END = "<END>"
MAX_REPORT_BYTES = 50 * 1024 * 1024
"""A larger file is refused before it is parsed."""
MAX_ROWS = 1_000_000
_AMOUNT = re.compile(r"[+-]?[0-9]{1,30}(\.[0-9]{1,30})?")
_XLSX_MAGIC = b"PK\x03\x04"
_CANONICAL = {name.lower(): name for name in DOCUMENTED_COLUMNS | SUMMARY_COLUMNS}


class ReportError(ValueError):
    """The file is not a report this module can read; the message says what and where (line numbers from 1)."""


@dataclass(frozen=True)
class ReportRow:
    """One transaction of a report, amount in minor units."""

    line: int
    type: str
    request_id: str
    original_request_id: str
    transaction_id: str
    amount: Amount
    status: str
    time: datetime | None

    @property
    def succeeded(self) -> bool:
        """The row settled something (a transaction details report also lists failed transactions)."""
        return self.status in ("", "SUCCESS")


@dataclass(frozen=True)
class Report:
    """A parsed report: its matched rows, the other rows counted by type, and how it was read."""

    rows: tuple[ReportRow, ...]
    columns: tuple[str, ...]
    format: str
    """``csv`` or ``xlsx``."""
    encoding: str
    """``utf-8``, ``gbk`` or ``xlsx``."""
    others: Counter[str] = field(default_factory=Counter)

    def period(self) -> tuple[date, date] | None:
        """The first and last day (UTC) of the rows' times, ``None`` when no row has a time."""
        days = [row.time.astimezone(UTC).date() for row in self.rows if row.time is not None]
        return (min(days), max(days)) if days else None


def read_report(data: bytes, name: str = "") -> Report:
    """Parse a report from its bytes; ``name`` (the file name) is only used to say what it expected."""
    if len(data) > MAX_REPORT_BYTES:
        raise ReportError(f"the file is {len(data)} bytes; reports of more than {MAX_REPORT_BYTES} bytes are refused")
    if not data.strip():
        raise ReportError("the file is empty")
    if data.startswith(_XLSX_MAGIC):
        return _parse_table(_xlsx_rows(data), fmt="xlsx", encoding="xlsx")
    if name.lower().endswith((".xlsx", ".xlsm")):
        raise ReportError(f"{name} is named like an XLSX workbook but is not one (no ZIP header)")
    text, encoding = decode(data)
    return _parse_table(_csv_rows(text), fmt="csv", encoding=encoding)


def read_report_file(path: str | Path) -> Report:
    """:func:`read_report` of a file on disk."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_REPORT_BYTES:
            raise ReportError(f"{path.name} is {size} bytes; reports of more than {MAX_REPORT_BYTES} bytes are refused")
        data = path.read_bytes()
    except OSError as exc:
        raise ReportError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return read_report(data, path.name)


def decode(data: bytes) -> tuple[str, str]:
    """UTF-8 (a BOM is dropped), else GBK; anything else is a :class:`ReportError`."""
    if b"\x00" in data:
        raise ReportError(
            "the file has NUL bytes: it is binary or UTF-16; save the report as UTF-8 or GBK CSV, or XLSX"
        )
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gbk"), "gbk"
    except UnicodeDecodeError as exc:
        raise ReportError(
            f"the file is neither UTF-8 nor GBK text (undecodable byte at offset {exc.start}), nor an XLSX workbook"
        ) from None


def _csv_rows(text: str) -> Iterator[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        yield from reader
    except csv.Error as exc:
        raise ReportError(f"line {reader.line_num}: not readable as CSV ({exc})") from None


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    try:
        from openpyxl import load_workbook  # noqa: PLC0415 - an optional dependency (extra "reports")
    except ImportError:
        raise ReportError("reading XLSX reports needs openpyxl: pip install 'antom-django[reports]'") from None
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure of the parser on untrusted bytes is a bad file
        raise ReportError(f"not a readable XLSX workbook ({type(exc).__name__})") from None
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise ReportError("the XLSX workbook has no worksheet")
        try:
            for values in sheet.iter_rows(values_only=True):
                yield [_cell_text(value) for value in values]
        except ReportError:
            raise
        except Exception as exc:  # noqa: BLE001 - as above: a broken sheet is a bad file, not a crash
            raise ReportError(f"the XLSX worksheet could not be read ({type(exc).__name__})") from None
    finally:
        workbook.close()


def _cell_text(value: Any) -> str:
    """An XLSX cell as the text a CSV would have had (numbers exactly as shown by ``repr``, never as floats)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value) if value != int(value) or abs(value) >= 1e16 else str(int(value))
    return str(value)


def _parse_table(lines: Iterable[list[str]], *, fmt: str, encoding: str) -> Report:
    numbered = ((number, [cell.strip() for cell in cells]) for number, cells in enumerate(lines, start=1))
    rows = ((number, cells) for number, cells in numbered if any(cells))
    first = next(rows, None)
    if first is None:
        raise ReportError("the file has no rows")
    header_line, header = first
    columns = _header(header_line, header)
    index = {name: position for position, name in enumerate(columns)}
    parsed: list[ReportRow] = []
    others: Counter[str] = Counter()
    ended_at = 0
    for number, cells in rows:
        if ended_at:
            raise ReportError(f"line {number}: data after the closing {END} line (line {ended_at})")
        if cells[0] == END:
            if any(cells[1:]):
                raise ReportError(f"line {number}: the {END} line has other values on it")
            ended_at = number
            continue
        if len(parsed) + others.total() >= MAX_ROWS:
            raise ReportError(f"more than {MAX_ROWS} rows; split the report")
        values = _fit(number, cells, len(columns), fmt)
        row = _row(number, values, index)
        if isinstance(row, str):
            others[row] += 1
        else:
            parsed.append(row)
    if not ended_at:
        raise ReportError(f"no closing {END} line: the file may be cut short")
    return Report(rows=tuple(parsed), columns=columns, format=fmt, encoding=encoding, others=others)


def _header(line: int, cells: list[str]) -> tuple[str, ...]:
    while cells and not cells[-1]:
        cells = cells[:-1]
    if cells and cells[0] == END:
        raise ReportError(f"line {line}: the file has a closing {END} line but no header row and no data")
    names = [_CANONICAL.get(cell.lower(), cell) for cell in cells]
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing and not SUMMARY_COLUMNS & set(names):
        found = ", ".join(repr(cell[:40]) for cell in cells[:4])
        raise ReportError(
            f"line {line} is not a report header: it lacks {', '.join(missing)} (it begins {found}); "
            "the first row must be Antom's column names"
        )
    if SUMMARY_COLUMNS & set(names):
        raise ReportError(
            "this is a settlement summary report (it has summaryType and count): it has no rows per transaction; "
            "import the transaction details or settlement details report"
        )
    if "" in names:
        raise ReportError(f"line {line}: column {names.index('') + 1} of the header has no name")
    unknown = [name for name in names if name not in DOCUMENTED_COLUMNS]
    if unknown:
        shown = ", ".join(repr(name[:40]) for name in unknown[:5])
        raise ReportError(
            f"line {line}: unknown column{'s' if len(unknown) > 1 else ''} {shown} (not in Antom's report fields)"
        )
    repeated = [name for name, n in Counter(names).items() if n > 1]
    if repeated:
        raise ReportError(f"line {line}: column {repeated[0]} appears more than once")
    return tuple(names)


def _fit(line: int, cells: list[str], width: int, fmt: str) -> list[str]:
    """The row's cells to the header's width: extra cells must be empty; an XLSX row may be short."""
    if len(cells) > width:
        if any(cells[width:]):
            raise ReportError(f"line {line}: {len(cells)} values, but the header has {width} columns")
        return cells[:width]
    if len(cells) < width:
        if fmt == "csv":
            raise ReportError(f"line {line}: {len(cells)} values, but the header has {width} columns")
        return cells + [""] * (width - len(cells))
    return cells


def _row(line: int, values: list[str], index: dict[str, int]) -> ReportRow | str:
    """A :class:`ReportRow`, or the type of a row that is not ours to match."""

    def get(name: str) -> str:
        position = index.get(name)
        return values[position] if position is not None else ""

    kind = get(TYPE).upper()
    if kind in OTHER_TYPES:
        return kind
    if kind not in MATCHED_TYPES:
        shown = repr(get(TYPE)[:40]) if get(TYPE) else "empty"
        raise ReportError(f"line {line}: {TYPE} is {shown}, not a transaction type Antom documents")
    request_id = get(REQUEST_ID)
    if not request_id:
        raise ReportError(f"line {line}: {REQUEST_ID} is empty")
    if len(request_id) > 64:
        raise ReportError(f"line {line}: {REQUEST_ID} is longer than 64 characters")
    return ReportRow(
        line=line,
        type=kind,
        request_id=request_id,
        original_request_id=get(ORIGINAL_REQUEST_ID)[:64],
        transaction_id=get(TRANSACTION_ID)[:64],
        amount=parse_amount(line, get(AMOUNT), get(CURRENCY)),
        status=get(STATUS).upper(),
        time=_row_time(line, values, index),
    )


def parse_amount(line: int, text: str, currency: str) -> Amount:
    """A major-unit amount such as ``42.00`` of ``SGD`` → ``Amount("SGD", 4200)``; a sign is dropped (refunds
    are sometimes shown negative)."""
    try:
        code = normalize_currency(currency)
    except MoneyError:
        shown = repr(currency[:8]) if currency else "empty"
        raise ReportError(f"line {line}: {CURRENCY} is {shown}, not a 3-letter ISO 4217 code") from None
    if not _AMOUNT.fullmatch(text):
        shown = repr(text[:24]) if text else "empty"
        raise ReportError(f"line {line}: {AMOUNT} is {shown}, not an amount in major units such as 42.00")
    try:
        minor = abs(to_minor_units(Decimal(text), code))
    except MoneyError:
        raise ReportError(f"line {line}: {AMOUNT} {text} has more decimals than {code} has") from None
    except InvalidOperation:  # pragma: no cover - the pattern admits only plain decimals
        raise ReportError(f"line {line}: {AMOUNT} {text!r} is not a number") from None
    if minor > MAX_MINOR_UNITS:
        raise ReportError(f"line {line}: {AMOUNT} {text} is too large")
    return Amount(currency=code, value=minor)


def _row_time(line: int, values: list[str], index: dict[str, int]) -> datetime | None:
    for name in TIME_COLUMNS:
        position = index.get(name)
        text = values[position] if position is not None else ""
        if not text:
            continue
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ReportError(f"line {line}: {name} {text[:40]!r} is not an ISO 8601 date and time") from None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return None
