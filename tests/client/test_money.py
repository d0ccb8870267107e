"""Money: integer minor units with each currency's ISO 4217 exponent, never floats."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from antom_django.client import Amount, MoneyError
from antom_django.client.money import currency_exponent, format_amount, to_major_units, to_minor_units


@pytest.mark.parametrize(
    ("currency", "exponent"), [("SGD", 2), ("usd", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3), ("CLF", 4)]
)
def test_exponents(currency: str, exponent: int) -> None:
    assert currency_exponent(currency) == exponent


@pytest.mark.parametrize(
    ("major", "currency", "minor"),
    [
        (Decimal("42.00"), "SGD", 4200),
        ("42", "SGD", 4200),
        ("0.01", "USD", 1),
        (500, "JPY", 500),
        ("1.234", "KWD", 1234),
        ("0", "EUR", 0),
    ],
)
def test_to_minor_units(major: Decimal | str | int, currency: str, minor: int) -> None:
    assert to_minor_units(major, currency) == minor


@pytest.mark.parametrize(("major", "currency"), [("0.001", "SGD"), ("1.5", "JPY"), ("1.2345", "KWD")])
def test_sub_minor_precision_is_refused(major: str, currency: str) -> None:
    with pytest.raises(MoneyError, match="decimal places"):
        to_minor_units(major, currency)


def test_major_units_and_format() -> None:
    assert to_major_units(4200, "SGD") == Decimal("42.00")
    assert str(to_major_units(4200, "SGD")) == "42.00"
    assert str(to_major_units(500, "JPY")) == "500"
    assert str(to_major_units(1234, "KWD")) == "1.234"
    assert format_amount(4200, "sgd") == "42.00 SGD"
    assert str(Amount("JPY", 4200)) == "4200 JPY"


@pytest.mark.parametrize("currency", ["", "SG", "SGDX", "S1D", "ÉUR", None, 840])
def test_bad_currency(currency: object) -> None:
    with pytest.raises(MoneyError, match="3-letter ISO 4217"):
        Amount(currency, 1)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [1.0, Decimal("1"), "100", True, None])
def test_amount_value_must_be_int(value: object) -> None:
    with pytest.raises(MoneyError, match="must be an int of minor units"):
        Amount("SGD", value)  # type: ignore[arg-type]


def test_negative_amount_is_refused() -> None:
    with pytest.raises(MoneyError, match="must not be negative"):
        Amount("SGD", -1)


def test_wire_round_trip() -> None:
    amount = Amount("sgd", 4200)
    assert amount.currency == "SGD"
    assert amount.to_wire() == {"currency": "SGD", "value": "4200"}
    assert Amount.from_wire({"currency": "SGD", "value": "4200"}) == amount
    assert Amount.from_wire({"currency": "SGD", "value": 4200}) == amount


@pytest.mark.parametrize(
    "data",
    [
        None,
        "4200 SGD",
        {"currency": "SGD"},
        {"currency": "SGD", "value": "42.00"},
        {"currency": "SGD", "value": 42.0},
        {"currency": "SGD", "value": "-1"},
        {"currency": "SGD", "value": True},
        {"currency": "SGD", "value": "４２"},
        {"value": "1"},
    ],
    ids=[
        "none",
        "string",
        "no-value",
        "decimal-string",
        "float",
        "negative",
        "bool",
        "fullwidth-digits",
        "no-currency",
    ],
)
def test_from_wire_refuses_non_minor_units(data: object) -> None:
    with pytest.raises(MoneyError):
        Amount.from_wire(data)


@given(
    minor=st.integers(min_value=0, max_value=10**15),
    currency=st.sampled_from(["SGD", "JPY", "KWD", "USD", "CLF"]),
)
def test_minor_major_round_trip(minor: int, currency: str) -> None:
    assert to_minor_units(to_major_units(minor, currency), currency) == minor
    assert Amount.from_wire(Amount(currency, minor).to_wire()) == Amount(currency, minor)
