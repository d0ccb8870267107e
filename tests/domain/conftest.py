"""Fixtures for domain tests: a signal recorder and a signed fake Antom gateway."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import responses
from django.db import connection

from tests.domain.helpers import SIGNALS, FakeAntom


class SignalLog:
    """Every signal sent, as ``(name, kwargs)``; thread-safe."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        return [name for name, _ in self.sent]

    def count(self, name: str) -> int:
        return self.names().count(name)

    def add(self, name: str, kwargs: dict[str, Any]) -> None:
        with self._lock:
            self.sent.append((name, kwargs))


def run_on_commit_callbacks() -> None:
    """Run what a commit would run, inside a test that never commits (signals are sent on commit)."""
    while connection.run_on_commit:
        _, callback, _ = connection.run_on_commit.pop(0)
        callback()


@pytest.fixture
def signal_log() -> Iterator[SignalLog]:
    log = SignalLog()
    receivers = []
    for name, signal in SIGNALS.items():

        def receiver(sender: Any, _name: str = name, **kwargs: Any) -> None:
            kwargs.pop("signal", None)
            log.add(_name, kwargs)

        signal.connect(receiver, weak=False, dispatch_uid=f"domain-test-{name}")
        receivers.append((signal, name))
    yield log
    for signal, name in receivers:
        signal.disconnect(dispatch_uid=f"domain-test-{name}")


@pytest.fixture
def antom_gateway() -> Iterator[FakeAntom]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeAntom(rsps)
