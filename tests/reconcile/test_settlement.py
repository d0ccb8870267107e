"""A report file against our rows: the shipped samples (UTF-8, GBK, XLSX) with differences injected here."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from antom_django.models import Capture, Payment
from antom_django.reconcile.reports import read_report, read_report_file
from antom_django.reconcile.settlement import compare_report

from .helpers import SAMPLE_DAY, SAMPLE_FILES, SAMPLES, capture, csv_report, payment, refund

P = Payment.Status
DAY = date(2026, 1, 15)


@pytest.fixture
def books() -> dict[str, Payment]:
    """Our side of the sample day: two payments that agree, a refund of another amount, an authorization whose
    capture we never recorded, and an authorization and capture Antom never settled."""
    first = payment("pay_sample_001", 4200, "SGD", P.SUCCEEDED)
    capture(first, "cap_sample_001", 4200)
    second = payment("pay_sample_002", 1500, "JPY", P.SUCCEEDED)
    capture(second, "cap_sample_002", 1500)
    refund(second, "ref_sample_002", 400)  # Antom refunded 500
    third = payment("pay_sample_003", 10500, "KWD", P.AUTHORIZED)  # Antom captured it: we do not know
    payment("pay_sample_004", 1200, "SGD", P.FAILED, paid_at=None)
    local = payment("pay_local_only", 999, "SGD", P.SUCCEEDED)
    capture(local, "cap_local_only", 999)
    later = payment("pay_next_day", 500, "SGD", P.SUCCEEDED, paid_at=SAMPLE_DAY + timedelta(days=1))
    capture(later, "cap_next_day", 500, at=SAMPLE_DAY + timedelta(days=1))
    return {"first": first, "second": second, "third": third, "local": local}


@pytest.mark.django_db
@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_each_sample_lists_the_injected_differences(books: dict[str, Payment], name: str) -> None:
    result = compare_report(read_report_file(SAMPLES / name))
    assert result.period == (DAY, DAY)
    assert [(e.type, e.request_id, e.payment_request_id, e.antom) for e in result.unknown] == [
        ("CAPTURE", "cap_sample_003", "pay_sample_003", "10.500 KWD")
    ]
    assert [(e.type, e.request_id, e.ours, e.antom) for e in result.amounts] == [
        ("REFUND", "ref_sample_002", "400 JPY", "500 JPY")
    ]
    assert sorted((e.type, e.request_id) for e in result.unsettled) == [
        ("AUTHORIZATION", "pay_local_only"),
        ("CAPTURE", "cap_local_only"),
    ]
    assert result.matched == 5
    assert result.skipped == {"DISPUTE row": 1, "FAIL AUTHORIZATION row": 1}
    assert result.unknown[0].payment_pk == books["third"].pk
    assert result.unknown[0].line == 8


@pytest.mark.django_db
def test_books_that_agree_are_clean() -> None:
    first = payment("pay_sample_001", 4200, "SGD", P.SUCCEEDED)
    capture(first, "cap_sample_001", 4200)
    rows = [
        ["AUTHORIZATION", "pay_sample_001", "", "42.00", "SGD", "SUCCESS", "2026-01-15T10:00:00Z"],
        ["CAPTURE", "cap_sample_001", "pay_sample_001", "42.00", "SGD", "SUCCESS", "2026-01-15T11:00:00Z"],
    ]
    result = compare_report(read_report(csv_report(rows)))
    assert result.clean and result.matched == 2


@pytest.mark.django_db
def test_a_payment_we_hold_as_failed_but_antom_settled_is_unknown_to_us() -> None:
    payment("pay_x", 4200, "SGD", P.FAILED, paid_at=None)
    rows = [["AUTHORIZATION", "pay_x", "", "42.00", "SGD", "SUCCESS", "2026-01-15T10:00:00Z"]]
    result = compare_report(read_report(csv_report(rows)))
    assert [e.note for e in result.unknown] == ["Antom settled it; ours is FAILED"]


@pytest.mark.django_db
def test_a_currency_difference_is_an_amount_difference() -> None:
    payment("pay_x", 4200, "SGD", P.AUTHORIZED)
    rows = [["AUTHORIZATION", "pay_x", "", "42.00", "USD", "SUCCESS", "2026-01-15T10:00:00Z"]]
    result = compare_report(read_report(csv_report(rows)))
    assert [(e.ours, e.antom) for e in result.amounts] == [("42.00 SGD", "42.00 USD")]


@pytest.mark.django_db
def test_an_automatic_capture_is_matched_through_its_payment() -> None:
    auto = payment("pay_auto", 4200, "SGD", P.SUCCEEDED, is_authorization=False)
    capture(auto, "cap_generated_here", 4200, origin=Capture.Origin.AUTOMATIC)
    other = payment("pay_auto2", 1000, "SGD", P.SUCCEEDED, is_authorization=False)
    capture(other, "cap_generated_too", 1000, origin=Capture.Origin.AUTOMATIC)
    rows = [
        ["PAYMENT", "pay_auto", "", "42.00", "SGD", "SUCCESS", "2026-01-15T10:00:00Z"],
        # Antom names its own capture with the payment's request id (as the simulator does).
        ["CAPTURE", "pay_auto2", "", "10.00", "SGD", "SUCCESS", "2026-01-15T10:00:00Z"],
    ]
    result = compare_report(read_report(csv_report(rows)), (DAY, DAY))
    assert result.unknown == [] and result.amounts == []
    # pay_auto2 has no PAYMENT/AUTHORIZATION row here: it is the only thing not settled.
    assert [(e.type, e.request_id) for e in result.unsettled] == [("PAYMENT", "pay_auto2")]


@pytest.mark.django_db
def test_a_settlement_report_does_not_expect_authorizations() -> None:
    payment("pay_x", 4200, "SGD", P.AUTHORIZED)
    header = [
        "transactionType",
        "transactionRequestId",
        "transactionAmountValue",
        "transactionCurrency",
        "transactionCreationTime",
    ]
    data = csv_report([["REFUND", "ref_unknown", "1.00", "SGD", "2026-01-15T10:00:00Z"]], header=header)
    result = compare_report(read_report(data))
    assert result.unsettled == []  # no status column: not the transaction details report
    assert [e.request_id for e in result.unknown] == ["ref_unknown"]


@pytest.mark.django_db
def test_a_report_without_times_needs_a_period() -> None:
    data = csv_report([["CAPTURE", "cap_1", "", "1.00", "SGD", "SUCCESS", ""]])
    with pytest.raises(ValueError, match="give the period"):
        compare_report(read_report(data))
    assert compare_report(read_report(data), (DAY, DAY)).period == (DAY, DAY)


@pytest.mark.django_db
def test_many_rows_are_matched_in_few_queries(django_assert_max_num_queries: object) -> None:
    rows = [["CAPTURE", f"cap_{i}", f"pay_{i}", "1.00", "SGD", "SUCCESS", "2026-01-15T10:00:00Z"] for i in range(1200)]
    report = read_report(csv_report(rows))
    with django_assert_max_num_queries(20):  # type: ignore[operator]
        result = compare_report(report)
    assert len(result.unknown) == 1200
