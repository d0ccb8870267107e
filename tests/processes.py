"""Real subprocesses in tests: output to a file (no pipe to fill up), shown on failure, always stopped."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


class LoggedProcess:
    """A command run from the project root with its output in ``log``; :meth:`stop` sends SIGTERM, then SIGKILL."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.command, self.log = command, log
        self._file = log.open("wb")
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self._file, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{' '.join(self.command)} still running after {timeout}s\n--- output ---\n{self.output()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._file.close()
