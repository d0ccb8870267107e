"""Whether a message Antom signed can be used at all: the shapes, types and sizes our code and columns take.

A notification or inquiry answer that fails here is never applied: the notification is kept raw with
outcome NEEDS_REVIEW and the payment it names is flagged for review, so an operator decides.
"""

from __future__ import annotations

import math
from typing import Any

from ..client.money import Amount, MoneyError
from ..client.types import parse_time

MAX_DEPTH = 32
"""Antom's bodies nest four levels at most; anything this deep is not one of them."""

MAX_ID = 64
"""Our id columns (request ids, Antom's ids) hold 64 characters."""

IDS = ("paymentRequestId", "paymentId", "captureRequestId", "captureId", "refundRequestId", "refundId")
TX_IDS = ("transactionRequestId", "transactionId")
TEXTS: dict[str, int | None] = {
    "notifyType": 32,
    **dict.fromkeys(IDS, MAX_ID),
    "paymentStatus": None,
    "paymentResultCode": None,
    "paymentResultMessage": None,
    "refundStatus": None,
}
"""Text fields the services read, with the longest value a column takes (``None``: truncated or not stored)."""
TX_TEXTS: dict[str, int | None] = {"transactionType": None, "transactionStatus": None, **dict.fromkeys(TX_IDS, MAX_ID)}
RESULT_TEXTS: dict[str, int | None] = {"resultStatus": None, "resultCode": 64, "resultMessage": None}
CARD_TEXTS: dict[str, int | None] = dict.fromkeys(["cardBrand", "funding", "issuingCountry", "cardNo"])
AMOUNTS = ("paymentAmount", "captureAmount", "refundAmount")
TIMES = ("paymentTime", "authExpiryTime", "captureTime", "refundTime")


def unusable(data: Any) -> str:
    """Why ``data`` (a parsed notification body or inquiry answer) cannot be applied, or ``""`` if it can."""
    if not isinstance(data, dict):
        return "the body is not a JSON object"
    return _storable(data) or _fields(data)


def known_ids(data: Any) -> dict[str, str]:
    """The ids in ``data`` that can name a payment safely (printable strings that fit our columns)."""
    if not isinstance(data, dict):
        return {}
    found = {name: data.get(name) for name in ("notifyType", *IDS)}
    return {name: value for name, value in found.items() if isinstance(value, str) and _is_id(value)}


def _is_id(value: str) -> bool:
    return 0 < len(value) <= MAX_ID and value.isprintable()


def _text_problem(value: str) -> str:
    # PostgreSQL text and jsonb hold neither NUL nor unpaired surrogates (which cannot even be encoded).
    if "\x00" in value:
        return "a text value contains a NUL character"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "a text value contains an unpaired surrogate"
    return ""


def _storable(data: dict[str, Any]) -> str:
    """Nesting, text and numbers the JSON columns can hold: a walk level by level, so no recursion to exhaust."""
    level: list[Any] = [data]
    depth = 1
    while level:
        below: list[Any] = []
        for value in level:
            if isinstance(value, str):
                problem = _text_problem(value)
            elif isinstance(value, dict | list):
                if depth > MAX_DEPTH:
                    return f"nested deeper than {MAX_DEPTH} levels"
                if isinstance(value, dict):
                    below.extend(value)  # the keys, as text to check
                    below.extend(value.values())
                else:
                    below.extend(value)
                continue
            elif isinstance(value, float) and not math.isfinite(value):
                problem = "a number is too large to store"
            else:
                continue
            if problem:
                return problem
        level = below
        depth += 1
    return ""


def _texts(data: dict[str, Any], specs: dict[str, int | None], where: str = "") -> str:
    for name, limit in specs.items():
        value = data.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            return f"{where}{name} is a {type(value).__name__}, not text"
        if limit is not None and len(value) > limit:
            return f"{where}{name} is longer than {limit} characters"
    return ""


def _amount(data: dict[str, Any], name: str, where: str = "") -> str:
    value = data.get(name)
    if value is None:
        return ""
    try:
        Amount.from_wire(value)
    except MoneyError as exc:
        return f"{where}{name} is unreadable: {exc}"
    return ""


def _time(data: dict[str, Any], name: str, where: str = "") -> str:
    value = data.get(name)
    if value in (None, "") or parse_time(value) is not None:
        return ""
    return f"{where}{name} is not an ISO-8601 time"


def _object(data: dict[str, Any], name: str, specs: dict[str, int | None], where: str = "") -> str:
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, dict):
        return f"{where}{name} is a {type(value).__name__}, not an object"
    return _texts(value, specs, f"{where}{name}.")


def _fields(data: dict[str, Any]) -> str:
    """Each field the services read: of the type Antom documents, readable, and fitting its column."""
    checks = [
        _texts(data, TEXTS),
        _object(data, "result", RESULT_TEXTS),
        _object(data, "paymentResultInfo", CARD_TEXTS),
        _object(data, "cardInfo", CARD_TEXTS),
        *(_amount(data, name) for name in AMOUNTS),
        *(_time(data, name) for name in TIMES),
        _transactions(data.get("transactions")),
    ]
    return next((problem for problem in checks if problem), "")


def _transactions(items: Any) -> str:
    if items is None:
        return ""
    if not isinstance(items, list):
        return f"transactions is a {type(items).__name__}, not a list"
    for index, item in enumerate(items):
        where = f"transactions[{index}]."
        if not isinstance(item, dict):
            return f"transactions[{index}] is a {type(item).__name__}, not an object"
        problem = (
            _texts(item, TX_TEXTS, where)
            or _object(item, "transactionResult", RESULT_TEXTS, where)
            or _amount(item, "transactionAmount", where)
            or _time(item, "transactionTime", where)
        )
        if problem:
            return problem
    return ""
