"""Money on the wire: integer minor units with each currency's ISO 4217 exponent."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# ISO 4217 minor-unit exponents that differ from 2. Everything else is 2.
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"], 0),
    **dict.fromkeys(["RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"], 0),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    "CLF": 4,
    "UYW": 4,
}


MAX_MINOR_UNITS = 2**63 - 1
"""The largest amount stored (a signed 64-bit column); anything larger is a :class:`MoneyError`."""

_MAX_DIGITS = len(str(MAX_MINOR_UNITS))


class MoneyError(ValueError):
    """An amount or currency that cannot be represented exactly."""


def currency_exponent(currency: str) -> int:
    """Digits after the decimal point for ``currency`` (JPY 0, SGD 2, KWD 3)."""
    code = normalize_currency(currency)
    return _EXPONENTS.get(code, 2)


def normalize_currency(currency: str) -> str:
    """Upper-case a currency code, refusing anything that is not three letters."""
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        shown = repr(currency[:8]) if isinstance(currency, str) else type(currency).__name__
        raise MoneyError(f"currency must be a 3-letter ISO 4217 code, not {shown}")
    return currency.upper()


def to_minor_units(major: Decimal | str | int, currency: str) -> int:
    """``Decimal("42.00"), "SGD"`` → ``4200``; refuses sub-minor-unit precision."""
    exponent = currency_exponent(currency)
    value = Decimal(str(major)).scaleb(exponent)
    if value != value.to_integral_value():
        raise MoneyError(f"{major} {currency} has more than {exponent} decimal places")
    return int(value)


def to_major_units(minor: int, currency: str) -> Decimal:
    """``4200, "SGD"`` → ``Decimal("42.00")``."""
    exponent = currency_exponent(currency)
    return Decimal(minor).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


def format_amount(minor: int, currency: str) -> str:
    """A human display such as ``"42.00 SGD"`` or ``"4200 JPY"``."""
    return f"{to_major_units(minor, currency)} {normalize_currency(currency)}"


@dataclass(frozen=True, slots=True)
class Amount:
    """An amount in integer minor units; ``{"currency": "SGD", "value": "4200"}`` on the wire."""

    currency: str
    value: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", normalize_currency(self.currency))
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise MoneyError(f"amount value must be an int of minor units, not {self.value!r}")
        if self.value < 0:
            raise MoneyError(f"amount value must not be negative, got {self.value}")
        if self.value > MAX_MINOR_UNITS:
            raise MoneyError(f"amount value must be at most {MAX_MINOR_UNITS} minor units")

    def to_wire(self) -> dict[str, str]:
        return {"currency": self.currency, "value": str(self.value)}

    @classmethod
    def from_wire(cls, data: Any) -> Amount:
        """Parse Antom's amount object; ``value`` must be a string or int of ASCII digits.

        Whatever ``data`` is, the result is an :class:`Amount` or a :class:`MoneyError`, never another
        exception: no ``int()`` of thousands of digits, no value a 64-bit column cannot hold.
        """
        if not isinstance(data, dict):
            raise MoneyError("amount must be an object with currency and value")
        raw = data.get("value")
        if isinstance(raw, bool) or not isinstance(raw, (str, int)):
            raise MoneyError(f"amount value must be a string of minor units, not {type(raw).__name__}")
        if isinstance(raw, int):
            value = raw
        elif raw.isascii() and raw.isdigit() and len(raw) <= _MAX_DIGITS:
            value = int(raw)
        else:
            raise MoneyError(f"amount value must be a string of at most {_MAX_DIGITS} ASCII digits, not {raw[:24]!r}")
        return cls(currency=data.get("currency", ""), value=value)

    def __str__(self) -> str:
        return format_amount(self.value, self.currency)
