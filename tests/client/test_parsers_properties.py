"""The client's parsers of what Antom sends: a documented error or a value, never another exception."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from antom_django.client import Amount, MoneyError
from antom_django.client.errors import SignatureError
from antom_django.client.keys import load_public_key
from antom_django.client.money import MAX_MINOR_UNITS
from antom_django.client.signing import Verifier, parse_signature_header
from antom_django.client.types import PaymentInquiry, Result, parse_amount, parse_time
from tests.settings import VECTORS

# Every shape json.loads can return, text in any Unicode (lone surrogates included: "\ud800" is valid JSON).
any_text = st.text(st.characters(exclude_categories=()), max_size=30)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | any_text
    | st.integers(min_value=10**18, max_value=10**40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=25,
)
digits = st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=30)
wire_values = json_values | digits | st.integers(min_value=0, max_value=10**4000).map(str)
currencies = st.sampled_from(["SGD", "JPY", "sgd", "", "S1D", "ＳＧＤ", "SGDX"]) | any_text
amounts = st.builds(lambda currency, value: {"currency": currency, "value": value}, currencies, wire_values)
INQUIRY_KEYS = [
    "paymentStatus",
    "paymentRequestId",
    "paymentId",
    "paymentAmount",
    "paymentTime",
    "authExpiryTime",
    "paymentResultCode",
    "paymentResultInfo",
    "cardInfo",
    "transactions",
]
TX_KEYS = ["transactionType", "transactionStatus", "transactionRequestId", "transactionId", "transactionAmount"]
transactions = st.lists(
    st.dictionaries(st.sampled_from([*TX_KEYS, "transactionTime", "transactionResult"]), json_values | amounts)
    | json_values,
    max_size=3,
)
inquiries = st.dictionaries(st.sampled_from(INQUIRY_KEYS), json_values | amounts | transactions)


@settings(max_examples=300)
@given(data=amounts | json_values)
def test_amount_from_wire_is_an_amount_or_a_money_error(data: Any) -> None:
    try:
        amount = Amount.from_wire(data)
    except MoneyError:
        assert parse_amount(data) is None
        return
    assert 0 <= amount.value <= MAX_MINOR_UNITS
    assert len(amount.currency) == 3 and amount.currency.isascii() and amount.currency.isupper()
    assert parse_amount(data) == amount


@given(value=digits.filter(lambda s: not (s.isascii() and s.isdigit())))
def test_amount_value_in_digits_of_other_scripts_is_refused(value: str) -> None:
    """``"٤٢".isdigit()`` and ``int("٤٢") == 42``: neither is a value Antom writes."""
    with pytest.raises(MoneyError):
        Amount.from_wire({"currency": "SGD", "value": value})


@pytest.mark.parametrize("value", ["9" * 5000, str(MAX_MINOR_UNITS + 1), 10**30, -1, 1.5, True, "", " 42", "4_200"])
def test_amount_value_that_fits_no_column_is_refused(value: Any) -> None:
    with pytest.raises(MoneyError):
        Amount.from_wire({"currency": "SGD", "value": value})


def test_largest_storable_amount_is_read() -> None:
    assert Amount.from_wire({"currency": "SGD", "value": str(MAX_MINOR_UNITS)}).value == MAX_MINOR_UNITS


@settings(max_examples=300)
@given(value=json_values | digits | st.text(st.characters(codec=None)))
def test_parse_time_is_an_aware_or_naive_datetime_or_none(value: Any) -> None:
    parsed = parse_time(value)
    assert parsed is None or isinstance(parsed, datetime)


def test_parse_time_reads_only_ascii_iso_8601() -> None:
    assert parse_time("2024-01-01T00:01:00+08:00") == datetime.fromisoformat("2024-01-01T00:01:00+08:00")
    assert parse_time("٢٠٢٤-01-01T00:01:00+08:00") is None
    assert parse_time("2024-01-01T00:01:00+08:00" + " " * 100) is None


@settings(max_examples=200)
@given(data=inquiries)
def test_inquiry_answer_of_any_shape_parses_into_the_typed_view(data: dict[str, Any]) -> None:
    """Whatever Antom's answer holds, the typed view is built (garbage fields read as absent), never raises."""
    answer = PaymentInquiry.from_wire(Result("SUCCESS", "S"), data)
    assert answer.raw is data
    assert answer.payment_amount is None or isinstance(answer.payment_amount, Amount)
    assert all(tx.amount is None or isinstance(tx.amount, Amount) for tx in answer.transactions)


@settings(max_examples=300)
@given(
    header=st.none() | any_text | st.builds("algorithm=RSA256,keyVersion={},signature={}".format, any_text, any_text)
)
def test_signature_header_parser_is_a_header_or_a_signature_error(header: str | None) -> None:
    try:
        parsed = parse_signature_header(header)
    except SignatureError:
        return
    assert parsed.algorithm == "RSA256" and parsed.signature


@settings(max_examples=200)
@given(header=any_text.map("algorithm=RSA256,keyVersion=1,signature={}".format), body=st.binary(max_size=64))
def test_verifying_any_signature_header_is_a_signature_error(header: str, body: bytes) -> None:
    """Whatever the signature text (other scripts, lone surrogates, percent signs), a refusal, never a crash."""
    verifier = Verifier(load_public_key(VECTORS["antom_public_key"]))
    with pytest.raises(SignatureError):
        verifier.verify_header("POST", "/antom/notify/", VECTORS["client_id"], "1704081600000", body, header)
