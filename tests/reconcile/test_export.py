"""The accounting export: its rows, amounts in major units, totals, the period and spreadsheet safety."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from antom_django.models import Payment
from antom_django.reconcile.export import COLUMNS, export_lines, filename

from .helpers import capture, payment, refund

P = Payment.Status
TODAY = timezone.now().date()


def exported(since: date = TODAY, until: date = TODAY) -> list[dict[str, str]]:
    text = "".join(export_lines(since, until))
    assert text.endswith("\r\n")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.django_db
def test_rows_and_totals() -> None:
    sgd = payment("pay_1", 4200, "SGD", P.REFUNDED)
    capture(sgd, "cap_1", 4200)
    refund(sgd, "ref_1", 4200)
    jpy = payment("pay_2", 1500, "JPY", P.PARTIALLY_CAPTURED)
    capture(jpy, "cap_2", 1000)
    kwd = payment("pay_3", 10500, "KWD", P.AUTHORIZED)
    rows = exported()
    assert list(rows[0]) == list(COLUMNS)
    assert [r["kind"] for r in rows] == ["payment"] * 3 + ["capture"] * 2 + ["refund"]
    amounts = {(r["kind"], r["request_id"]): (r["amount"], r["currency"]) for r in rows}
    assert amounts[("payment", "pay_1")] == ("42.00", "SGD")
    assert amounts[("payment", "pay_2")] == ("1500", "JPY")
    assert amounts[("payment", "pay_3")] == ("10.500", "KWD")
    assert amounts[("capture", "cap_2")] == ("1000", "JPY")
    assert amounts[("refund", "ref_1")] == ("42.00", "SGD")
    first = next(r for r in rows if r["request_id"] == "pay_1")
    assert (first["captured"], first["refunded"], first["status"]) == ("42.00", "42.00", "REFUNDED")
    captured = sum(Decimal(r["amount"]) for r in rows if r["kind"] == "capture" and r["currency"] == "SGD")
    assert captured == Decimal("42.00")
    assert next(r for r in rows if r["request_id"] == "cap_2")["payment_request_id"] == "pay_2"
    assert kwd.pk


@pytest.mark.django_db
def test_only_the_period_and_formula_like_cells_are_defused() -> None:
    inside = payment("pay_in", 100, "SGD", P.AUTHORIZED, reference_order_id="=HYPERLINK(1)")
    outside = payment("pay_out", 100, "SGD", P.AUTHORIZED)
    Payment.objects.filter(pk=outside.pk).update(created_at=timezone.now() - timedelta(days=2))
    rows = exported()
    assert [r["payment_request_id"] for r in rows] == ["pay_in"]
    assert rows[0]["reference_order_id"] == "'=HYPERLINK(1)"
    assert [r["payment_request_id"] for r in exported(TODAY - timedelta(days=2), TODAY)] == ["pay_out", "pay_in"]
    assert inside.pk


def test_the_file_name_says_the_period() -> None:
    assert filename(date(2026, 1, 1), date(2026, 1, 31)) == "antom-2026-01-01-2026-01-31.csv"
