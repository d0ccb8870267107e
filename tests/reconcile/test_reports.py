"""The report-file reader: the shipped samples in each format, every kind of bad file, and properties."""

from __future__ import annotations

import string
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from antom_django.client.money import Amount, currency_exponent
from antom_django.reconcile.reports import (
    END,
    MATCHED_TYPES,
    ReportError,
    read_report,
    read_report_file,
)

from .helpers import HEADER, SAMPLE_FILES, SAMPLES, csv_report, xlsx_report

ROW = ["CAPTURE", "cap_1", "pay_1", "42.00", "SGD", "SUCCESS", "2026-01-15T10:00:00+08:00"]


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_each_sample_reads_to_the_same_rows(name: str) -> None:
    report = read_report_file(SAMPLES / name)
    reference = read_report_file(SAMPLES / "transactions-utf8.csv")
    assert report.rows == reference.rows
    assert [(r.type, r.request_id, r.amount) for r in report.rows[:2]] == [
        ("AUTHORIZATION", "pay_sample_001", Amount("SGD", 4200)),
        ("CAPTURE", "cap_sample_001", Amount("SGD", 4200)),
    ]
    kwd = next(r for r in report.rows if r.request_id == "cap_sample_003")
    assert kwd.amount == Amount("KWD", 10500)  # three decimals: 10.500 KWD
    refund = next(r for r in report.rows if r.type == "REFUND")
    assert refund.amount == Amount("JPY", 500)  # shown as -500: the sign is dropped
    assert report.others == {"DISPUTE": 1}
    assert [r.succeeded for r in report.rows].count(False) == 1
    assert report.period() == (SAMPLE_DAY_DATE, SAMPLE_DAY_DATE)


SAMPLE_DAY_DATE = __import__("datetime").date(2026, 1, 15)


def test_the_encoding_and_format_are_detected() -> None:
    assert read_report_file(SAMPLES / "transactions-utf8.csv").encoding == "utf-8"
    assert read_report_file(SAMPLES / "transactions-gbk.csv").encoding == "gbk"
    xlsx = read_report_file(SAMPLES / "transactions.xlsx")
    assert (xlsx.format, xlsx.encoding) == ("xlsx", "xlsx")
    assert (SAMPLES / "transactions-utf8.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_header_names_are_matched_case_insensitively_and_blank_lines_skipped() -> None:
    data = csv_report([ROW, ["", "", ""]], header=[h.upper() for h in HEADER])
    report = read_report(b"\r\n" + data + b"\r\n\r\n")
    assert [r.request_id for r in report.rows] == ["cap_1"]


BAD = {
    "empty": (b"   \n", "empty"),
    "no header": (csv_report([ROW], header=ROW), "line 1 is not a report header: it lacks transactionType"),
    "only END": (b"<END>\r\n", "no header row"),
    "no END": (csv_report([ROW], end=False), "no closing <END> line"),
    "data after END": (
        csv_report([ROW]) + b"CAPTURE,cap_2,pay_1,1.00,SGD,SUCCESS,\r\n",
        "data after the closing <END>",
    ),
    "unknown column": (
        csv_report([[*ROW, "x"]], header=[*HEADER, "favouriteColour"]),
        "unknown column 'favouriteColour'",
    ),
    "repeated column": (csv_report([[*ROW, "x"]], header=[*HEADER, "status"]), "column status appears more than once"),
    "nameless column": (
        csv_report([[*ROW, "x"]], header=[*HEADER[:2], "", *HEADER[2:]]),
        "column 3 of the header has no name",
    ),
    "summary report": (
        csv_report(
            [["CAPTURE", "3", "1.00", "SGD"]],
            header=["summaryType", "count", "settlementAmountValue", "settlementCurrency"],
        ),
        "settlement summary report",
    ),
    "letters for an amount": (
        csv_report([[*ROW[:3], "forty-two", *ROW[4:]]]),
        "line 2: transactionAmountValue is 'forty-two'",
    ),
    "thousands separator": (csv_report([[*ROW[:3], "1,042.00", *ROW[4:]]]), "not an amount in major units"),
    "too many decimals": (csv_report([[*ROW[:3], "12.5", "JPY", *ROW[5:]]]), "12.5 has more decimals than JPY has"),
    "empty amount": (csv_report([[*ROW[:3], "", *ROW[4:]]]), "transactionAmountValue is empty"),
    "too large": (csv_report([[*ROW[:3], "9" * 25, *ROW[4:]]]), "too large"),
    "bad currency": (csv_report([[*ROW[:4], "S$", *ROW[5:]]]), "transactionCurrency is 'S$'"),
    "unknown type": (csv_report([["PAYOUT", *ROW[1:]]]), "transactionType is 'PAYOUT', not a transaction type"),
    "no request id": (csv_report([["CAPTURE", "", *ROW[2:]]]), "transactionRequestId is empty"),
    "short row": (csv_report([ROW[:5]]), "line 2: 5 values, but the header has 7 columns"),
    "long row": (csv_report([[*ROW, "extra"]]), "line 2: 8 values, but the header has 7 columns"),
    "bad time": (csv_report([[*ROW[:6], "yesterday"]]), "transactionCreationTime 'yesterday' is not an ISO 8601"),
    "END with values": (csv_report([ROW], end=False) + b"<END>,1\r\n", "the <END> line has other values"),
    "neither UTF-8 nor GBK": (csv_report([ROW]) + b"\xff\xff\r\n", "neither UTF-8 nor GBK"),
    "UTF-16": (("\ufeff" + csv_report([ROW]).decode()).encode("utf-16-le"), "NUL bytes"),
    "not really XLSX": (b"PK\x03\x04" + b"\x00garbage" * 20, "not a readable XLSX workbook"),
    "unterminated quote": (csv_report([ROW]).replace(b"cap_1", b'"cap_1'), "line 2: 2 values, but the header"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_file_is_refused_with_a_specific_message(case: str) -> None:
    data, message = BAD[case]
    with pytest.raises(ReportError) as caught:
        read_report(data, "report.csv")
    assert message in str(caught.value)


def test_a_file_named_xlsx_that_is_text_is_refused() -> None:
    with pytest.raises(ReportError, match="named like an XLSX workbook but is not one"):
        read_report(csv_report([ROW]), "report.xlsx")


def test_xlsx_without_end_and_with_bad_amount_are_refused() -> None:
    with pytest.raises(ReportError, match="no closing <END>"):
        read_report(xlsx_report([ROW], end=False))
    with pytest.raises(ReportError, match="line 2: transactionAmountValue is 'abc'"):
        read_report(xlsx_report([[*ROW[:3], "abc", *ROW[4:]]]))


def test_xlsx_numbers_are_read_exactly() -> None:
    rows = [[*ROW[:3], 42.1, *ROW[4:]], ["CAPTURE", "cap_2", "pay_1", 1500, "JPY", "SUCCESS", None]]
    report = read_report(xlsx_report(rows))
    assert [r.amount for r in report.rows] == [Amount("SGD", 4210), Amount("JPY", 1500)]
    assert report.rows[1].time is None


def test_a_missing_file_is_a_report_error(tmp_path: object) -> None:
    with pytest.raises(ReportError, match="cannot read"):
        read_report_file("/nonexistent/report.csv")


# -- properties ---------------------------------------------------------------------------------------------------


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_any_bytes_give_a_report_or_a_report_error(data: bytes) -> None:
    try:
        read_report(data)
    except ReportError as exc:
        assert str(exc)


CELL = st.text(alphabet=string.ascii_letters + string.digits + ',"<>.-:+ \r\n中文', max_size=12)


@settings(max_examples=300)
@given(st.lists(st.lists(CELL, min_size=0, max_size=9), max_size=6), st.sampled_from(["utf-8", "gbk"]))
def test_any_table_gives_a_report_or_a_report_error(rows: list[list[str]], encoding: str) -> None:
    try:
        read_report(csv_report(rows, encoding=encoding))
    except ReportError as exc:
        assert str(exc)


IDS = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=64)


@st.composite
def rows(draw: st.DrawFn) -> tuple[str, str, str, int]:
    currency = draw(st.sampled_from(["SGD", "JPY", "KWD", "USD"]))
    minor = draw(st.integers(min_value=0, max_value=10**12))
    return draw(st.sampled_from(sorted(MATCHED_TYPES))), draw(IDS), currency, minor


def major(minor: int, currency: str) -> str:
    return str(Decimal(minor).scaleb(-currency_exponent(currency)))


@settings(max_examples=150, deadline=None)
@given(st.lists(rows(), min_size=1, max_size=8), st.sampled_from(["utf-8", "utf-8-sig", "gbk", "xlsx"]))
def test_rows_written_in_any_format_read_back_the_same(table: list[tuple[str, str, str, int]], form: str) -> None:
    header = [*HEADER, "orderDescription"]
    records = [[kind, rid, "", major(minor, cur), cur, "SUCCESS", "", "茶壶"] for kind, rid, cur, minor in table]
    data = xlsx_report(records, header=header) if form == "xlsx" else csv_report(records, header=header, encoding=form)
    report = read_report(data)
    assert [(r.type, r.request_id, r.amount) for r in report.rows] == [
        (kind, rid, Amount(cur, minor)) for kind, rid, cur, minor in table
    ]
    assert report.encoding == {"utf-8-sig": "utf-8"}.get(form, form)
    assert END not in [r.request_id for r in report.rows]
