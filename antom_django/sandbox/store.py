"""The simulator's in-memory state: sessions, payments, captures, refunds, replay records, its clock."""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from antom_django.client.money import Amount
from antom_django.client.types import Result

from .faults import Faults

# Antom's servers stamp times in UTC+8; shops must honour the offset, not assume UTC.
ANTOM_TZ = timezone(timedelta(hours=8))


class Clock:
    """Wall-clock time plus an offset that tests move forward (auth and session expiry)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self.offset, tz=ANTOM_TZ)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def iso(moment: datetime | None) -> str | None:
    """Antom's ISO-8601 form, second precision, with offset."""
    return moment.astimezone(ANTOM_TZ).isoformat(timespec="seconds") if moment else None


SUCCESS = Result("SUCCESS", "S", "success")


@dataclass
class Operation:
    """What a capture and a refund both record: the request, the amount and how it ended."""

    request_id: str
    amount: Amount
    status: str  # SUCCESS / FAIL / PROCESSING
    result: Result
    created: datetime
    time: datetime | None
    request: dict[str, Any]


@dataclass
class Capture(Operation):
    capture_id: str
    automatic: bool = False
    payment_id: str = ""


@dataclass
class Refund(Operation):
    refund_id: str
    notify_url: str | None


@dataclass
class Payment:
    payment_id: str
    client_id: str
    payment_request_id: str
    amount: Amount
    session_id: str
    manual_capture: bool
    notify_url: str | None
    redirect_url: str
    created: datetime
    status: str = "PROCESSING"  # PROCESSING / PENDING / SUCCESS / FAIL / CANCELLED
    result_code: str = "PAYMENT_IN_PROCESS"
    result_message: str = "payment in process"
    payment_time: datetime | None = None
    auth_expiry: datetime | None = None
    card: dict[str, Any] | None = None
    card_behaviour: str = ""
    pending_outcome: tuple[str, str, str] | None = None
    captures: list[Capture] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    cancel_time: datetime | None = None
    closed_by_last_capture: bool = False
    faults: Faults | None = None

    @property
    def captured(self) -> int:
        return sum(c.amount.value for c in self.captures if c.status in ("SUCCESS", "PROCESSING"))

    @property
    def refunded(self) -> int:
        return sum(r.amount.value for r in self.refunds if r.status in ("SUCCESS", "PROCESSING"))

    @property
    def settled_captured(self) -> int:
        return sum(c.amount.value for c in self.captures if c.status == "SUCCESS")


@dataclass
class Session:
    session_id: str
    client_id: str
    payment_id: str
    expires: datetime
    session_data: str
    status: str = "OPEN"  # OPEN / CHALLENGE / COMPLETED / EXPIRED / CLOSED
    locale: str = "en_US"


class Store:
    """Everything the simulator remembers, behind one re-entrant lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clock = Clock()
        self._seq = itertools.count(1)
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.sessions: dict[str, Session] = {}
            self.payments: dict[str, Payment] = {}
            self.payments_by_request: dict[tuple[str, str], str] = {}
            self.captures: dict[tuple[str, str], tuple[str, Capture]] = {}
            self.refunds: dict[tuple[str, str], tuple[str, Refund]] = {}
            self.refunds_by_id: dict[str, tuple[str, Refund]] = {}
            self.replays: dict[tuple[str, str, str], tuple[str, dict[str, Any]]] = {}
            self.clock.offset = 0.0

    def new_id(self, kind: str) -> str:
        """Antom-looking numeric ids: date, a kind digit, a sequence and randomness (≤ 64 chars)."""
        stamp = self.clock.now().strftime("%Y%m%d")
        digit = {"payment": "1", "capture": "2", "refund": "3"}.get(kind, "9")
        return f"{stamp}{digit}{next(self._seq):010d}{secrets.randbelow(10**8):08d}"

    def payment(self, client_id: str, payment_id: str | None, request_id: str | None) -> Payment | None:
        with self.lock:
            if payment_id:
                found = self.payments.get(payment_id)
                return found if found is not None and found.client_id == client_id else None
            if request_id:
                pid = self.payments_by_request.get((client_id, request_id))
                return self.payments.get(pid) if pid else None
            return None
