"""``make demo``'s runner (scripts/demo.py) as a user runs it: a real subprocess with its own children.

``make demo-check`` proves the default (SQLite, Kombu's filesystem broker); here the same ``--check`` on
PostgreSQL and Redis, and a stop by SIGINT (a terminal's Ctrl-C, sent to the runner's process group) and by
SIGTERM, after which no process of the demo may be left.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from tests.broker import forget_queue
from tests.celery_app import BROKER_URL

ROOT = Path(__file__).resolve().parents[1]
DEMO = [sys.executable, "scripts/demo.py"]


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's keys for these runs: a developer's example_project/keys/ stays as it is."""
    return tmp_path_factory.mktemp("demo-keys")


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A database of its own on the suite's PostgreSQL server (the demo migrates the shop's tables into it)."""
    s = connection.settings_dict
    host, port, user = s["HOST"] or "127.0.0.1", s["PORT"] or 5432, s["USER"]
    password = s["PASSWORD"] or ""
    name = f"test_demo_{uuid.uuid4().hex[:8]}"

    def admin() -> psycopg.Connection:
        return psycopg.connect(host=host, port=port, user=user, password=password, dbname="postgres", autocommit=True)

    with admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://{user}{':' + password if password else ''}@{host}:{port}/{name}"
    finally:
        with admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        forget_queue("celery")  # the shop uses Celery's default queue


def demo_env(database_url: str, keys_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "DEMO_PORT", "SANDBOX_PORT")}
    env.update(DATABASE_URL=database_url, CELERY_BROKER_URL=BROKER_URL, ANTOM_KEYS_DIR=str(keys_dir))
    return env


def started_pids(output: str) -> dict[str, int]:
    return {name: int(pid) for name, pid in re.findall(r"started (\w+) \(pid (\d+)\)", output)}


def assert_nothing_left(pids: dict[str, int]) -> None:
    assert set(pids) == {"sandbox", "shop", "worker"}
    for pid in pids.values():
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)  # each child led a process group: none of its members may be left


@pytest.mark.postgres
def test_check_on_postgres_and_redis(postgres_url: str, keys_dir: Path) -> None:
    done = subprocess.run(
        [*DEMO, "--check"], cwd=ROOT, env=demo_env(postgres_url, keys_dir), capture_output=True, text=True, timeout=180
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert f"/{postgres_url.rsplit('/', 1)[1]}; broker: {BROKER_URL}" in output
    for step in ("[4/11] POST /antom/sessions/", "AUTHORIZED", "Captured", "says 'shipped'", "check passed"):
        assert step in output, output
    assert_nothing_left(started_pids(output))


class Running:
    """The interactive demo in a session of its own, as a terminal runs it; its output collected by a thread."""

    def __init__(self, env: dict[str, str]) -> None:
        command = [*DEMO, "--port", "0", "--sandbox-port", "0"]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.decode("utf-8", "replace"))

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"no {text!r}\n{self.output}")
            time.sleep(0.1)

    def stopped(self) -> None:
        """It exits 0 having stopped each child, none killed, and no process of theirs is left."""
        assert self.process.wait(timeout=60) == 0, self.output
        self.reader.join(timeout=5)
        assert "stopped; no process left" in self.output
        assert "killed" not in self.output
        assert_nothing_left(started_pids(self.output))

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        for pid in started_pids(self.output).values():  # never leave the children of a failed test running
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


@pytest.mark.postgres
def test_ctrl_c_stops_everything(postgres_url: str, keys_dir: Path) -> None:
    demo = Running(demo_env(postgres_url, keys_dir))
    try:
        demo.wait_for("The example shop is running", timeout=120)
        assert "password 'antom-demo'" in demo.output
        os.killpg(demo.process.pid, signal.SIGINT)  # what a terminal does: its foreground group gets SIGINT
        demo.stopped()
    finally:
        demo.kill()


@pytest.mark.postgres
def test_sigterm_while_starting_stops_everything(postgres_url: str, keys_dir: Path) -> None:
    demo = Running(demo_env(postgres_url, keys_dir))
    try:
        demo.wait_for("started worker", timeout=120)  # the three are starting, none is up yet
        demo.process.terminate()
        demo.stopped()
        assert "The example shop is running" not in demo.output
    finally:
        demo.kill()
