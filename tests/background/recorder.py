"""Every antom_django signal a process sends, appended as a JSON line to the file ``ANTOM_TEST_SIGNALS`` names.

Installed in the worker processes (:mod:`tests.background.settings`) and connected in the test process, so a test
counts each signal over every process that could have sent it. A process started with
``ANTOM_TEST_DIE_AFTER_SIGNAL=<name>`` SIGKILLs itself once it has recorded that signal.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from signal import SIGKILL
from typing import Any

from django.apps import AppConfig
from django.dispatch import Signal

from antom_django import signals as antom_signals

SIGNALS = {name: value for name, value in vars(antom_signals).items() if isinstance(value, Signal)}


class Recorder:
    """A receiver per signal writing one line per sending (O_APPEND: whole lines from several processes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.receivers = {name: self._receiver(name) for name in SIGNALS}

    def _receiver(self, name: str) -> Any:
        def receive(sender: Any, payment: Any = None, **kwargs: Any) -> None:
            line = {
                "signal": name,
                "payment": getattr(payment, "payment_request_id", None),
                "source": kwargs.get("source"),
                "policy": kwargs.get("policy"),
                "event": getattr(kwargs.get("event"), "pk", None),
                "pid": os.getpid(),
            }
            with self.path.open("a", encoding="utf-8") as file:
                file.write(json.dumps(line) + "\n")
            if name == os.environ.get("ANTOM_TEST_DIE_AFTER_SIGNAL"):
                os.kill(os.getpid(), SIGKILL)  # a process killed between the commit and its other signals

        return receive

    def connect(self) -> None:
        for name, signal in SIGNALS.items():
            signal.connect(self.receivers[name], weak=False, dispatch_uid=f"antom-test-recorder-{name}")

    def disconnect(self) -> None:
        for name, signal in SIGNALS.items():
            signal.disconnect(dispatch_uid=f"antom-test-recorder-{name}")


def read(path: Path) -> list[dict[str, Any]]:
    """The signals recorded in ``path`` so far, in the order they were written."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


class RecorderConfig(AppConfig):
    name = "tests.background"
    label = "antom_test_recorder"
    verbose_name = "Signal recorder of the background tests"

    def ready(self) -> None:
        path = os.environ.get("ANTOM_TEST_SIGNALS")
        if path:
            Recorder(Path(path)).connect()
