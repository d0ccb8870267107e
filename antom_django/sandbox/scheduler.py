"""A single background thread that runs timed jobs in due order (retries, settlements, expiry)."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger("antom_django.sandbox")


class Scheduler:
    """Runs ``fn`` after ``delay`` seconds; jobs due together run in the order they were added."""

    def __init__(self) -> None:
        self._jobs: list[tuple[float, int, Callable[[], object]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def start(self) -> None:
        with self._cond:
            if self._thread is not None:
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="antom-sandbox-scheduler", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)

    def call_later(self, delay: float, fn: Callable[[], object]) -> None:
        with self._cond:
            heapq.heappush(self._jobs, (time.monotonic() + max(delay, 0.0), next(self._seq), fn))
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self._jobs.clear()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (not self._jobs or self._jobs[0][0] > time.monotonic()):
                    wait = self._jobs[0][0] - time.monotonic() if self._jobs else None
                    self._cond.wait(wait)
                if self._stopping:
                    return
                _, _, fn = heapq.heappop(self._jobs)
            try:
                fn()
            except Exception:  # a failing job must not kill the simulator's clockwork
                logger.exception("sandbox job failed")
