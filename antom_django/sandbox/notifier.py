"""Signed notifications to the shop, resent on Antom's schedule until acknowledged exactly."""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from antom_django.client.api import epoch_millis
from antom_django.client.signing import build_signature_header
from antom_django.client.types import ACK_BODY

from .faults import Faults
from .store import iso

if TYPE_CHECKING:
    from .engine import Simulator

logger = logging.getLogger("antom_django.sandbox")

_EXPECTED_ACK = json.loads(ACK_BODY)["result"]
_MAX_ACK_BYTES = 64 * 1024


def is_ack(status: int | None, raw: bytes) -> bool:
    """HTTP 200 and a body whose ``result`` equals Antom's fixed acknowledgment."""
    if status != 200:
        return False
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(data, dict) and data.get("result") == _EXPECTED_ACK


@dataclass
class Attempt:
    """One try at delivering a notification."""

    number: int
    at: str
    outcome: str  # acked / rejected / error / dropped
    http_status: int | None = None
    detail: str = ""
    duplicate: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "at": self.at,
            "outcome": self.outcome,
            "httpStatus": self.http_status,
            "detail": self.detail,
            "duplicate": self.duplicate,
        }


@dataclass
class Delivery:
    """A notification and its delivery history."""

    id: int
    notify_type: str
    url: str
    client_id: str
    payload: dict[str, Any]
    body: bytes
    payment_id: str
    faults: Faults
    created: str
    attempts: list[Attempt] = field(default_factory=list)
    state: str = "pending"  # pending / acked / gave_up
    sent_times: list[float] = field(default_factory=list)

    @property
    def tries(self) -> int:
        return sum(not a.duplicate for a in self.attempts)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "notifyType": self.notify_type,
            "url": self.url,
            "paymentId": self.payment_id,
            "state": self.state,
            "created": self.created,
            "payload": self.payload,
            "attempts": [a.to_json() for a in self.attempts],
        }


class Notifier:
    """Queues, signs, sends and resends notifications on the simulator's scheduler thread."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.deliveries: list[Delivery] = []
        self._cond = threading.Condition()
        self._held: dict[str, list[Delivery]] = {}
        self._ids = 0

    def reset(self) -> None:
        with self._cond:
            self.deliveries = []
            self._held = {}

    def enqueue(
        self, client_id: str, url: str | None, payload: dict[str, Any], payment_id: str, faults: Faults
    ) -> Delivery | None:
        """Queue a notification; ``None`` when there is no URL to send it to."""
        if not url:
            return None
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        with self._cond:
            self._ids += 1
            delivery = Delivery(
                id=self._ids,
                notify_type=str(payload.get("notifyType")),
                url=url,
                client_id=client_id,
                payload=payload,
                body=body,
                payment_id=payment_id,
                faults=faults,
                created=iso(self.sim.store.clock.now()) or "",
            )
            self.deliveries.append(delivery)
            if faults.notify_reorder:
                held = self._held.setdefault(payment_id, [])
                held.append(delivery)
                if len(held) == 1:
                    self.sim.scheduler.call_later(self.sim.config.reorder_window, lambda: self._flush(payment_id))
                return delivery
        self.sim.scheduler.call_later(0, lambda: self._attempt(delivery))
        return delivery

    def _flush(self, payment_id: str) -> None:
        with self._cond:
            held = self._held.pop(payment_id, [])
        for delivery in reversed(held):
            self.sim.scheduler.call_later(0, functools.partial(self._attempt, delivery))

    def _attempt(self, delivery: Delivery) -> None:
        number = delivery.tries + 1
        faults = delivery.faults
        now = iso(self.sim.store.clock.now()) or ""
        if faults.notify_drop == -1 or number <= faults.notify_drop:
            self._record(delivery, Attempt(number, now, "dropped", detail="dropped by fault injection"))
        else:
            attempt = self._send(delivery, number, now)
            self._record(delivery, attempt)
            if faults.notify_duplicate and attempt.outcome != "error":
                self._record(delivery, self._send(delivery, number, now, duplicate=True))
        if delivery.state == "acked":
            return
        schedule = self.sim.config.notify_schedule
        if number < len(schedule) and self.sim.config.resend_notifications:
            self.sim.scheduler.call_later(self.sim.config.scaled(schedule[number]), lambda: self._attempt(delivery))
        else:
            with self._cond:
                delivery.state = "gave_up"
                self._cond.notify_all()

    def _send(self, delivery: Delivery, number: int, now: str, duplicate: bool = False) -> Attempt:
        request_time = now if self.sim.config.notify_time_format == "iso" else epoch_millis()
        path = urlsplit(delivery.url).path or "/"
        signature = self.sim.signer.sign("POST", path, delivery.client_id, request_time, delivery.body)
        request = urllib.request.Request(
            delivery.url,
            data=delivery.body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=UTF-8",
                "client-id": delivery.client_id,
                "request-time": request_time,
                "signature": build_signature_header(signature),
                "User-Agent": "antom-django-sandbox",
            },
        )
        delivery.sent_times.append(time.monotonic())
        try:
            with urllib.request.urlopen(request, timeout=self.sim.config.notify_timeout) as response:
                status, raw = response.status, response.read(_MAX_ACK_BYTES)
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read(_MAX_ACK_BYTES) if exc.fp else b""
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return Attempt(number, now, "error", detail=f"{type(exc).__name__}: {reason}"[:200], duplicate=duplicate)
        acked = is_ack(status, raw)
        detail = "" if acked else raw[:200].decode("utf-8", "replace")
        return Attempt(number, now, "acked" if acked else "rejected", status, detail, duplicate)

    def _record(self, delivery: Delivery, attempt: Attempt) -> None:
        with self._cond:
            delivery.attempts.append(attempt)
            if attempt.outcome == "acked":
                delivery.state = "acked"
            self._cond.notify_all()
        logger.info(
            "notify %s #%d %s to %s: %s%s",
            delivery.notify_type,
            attempt.number,
            delivery.payment_id,
            delivery.url,
            attempt.outcome,
            " (duplicate)" if attempt.duplicate else "",
        )

    def wait_for(self, predicate: Callable[[list[Delivery]], bool], timeout: float = 10.0) -> bool:
        """Block until ``predicate(deliveries)`` holds; ``False`` on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.deliveries), timeout)
