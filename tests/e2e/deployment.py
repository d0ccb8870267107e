"""The example shop deployed as a user runs it: the simulator, the shop and a Celery worker with embedded beat.

Each is a real process started from a copy of ``example_project/`` in a temporary directory (so its keys,
SQLite file and filesystem broker never touch the checkout), configured only through the environment the
shop documents. On a PostgreSQL run (``ANTOM_TEST_DATABASE_URL``) the shop gets a database of its own, created
and dropped here, and Redis (``ANTOM_TEST_BROKER_URL``) as its broker; otherwise a SQLite file and Kombu's
filesystem transport, the embedded default.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from antom_django.client import AntomClient
from tests.example import SHOP_ENVIRONMENT as SHOP_VARIABLES

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "example_project"
SETTLE_DELAY = 6.0
"""Seconds the simulator keeps a processing card's payment pending: long enough to see the result page wait."""

LOCAL_STATE = {"keys", ".broker", "static"}

SHOP_ENVIRONMENT = (*SHOP_VARIABLES, "DJANGO_SETTINGS_MODULE")
"""What the shop reads from the environment: none of it is inherited from the test run."""


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Process:
    """A command in its own process group with its output in ``log``; :meth:`stop` ends the group."""

    def __init__(self, name: str, command: list[str], cwd: Path, env: dict[str, str], log: Path) -> None:
        self.name, self.log = name, log
        self._file = log.open("wb")
        self.process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=self._file, stderr=subprocess.STDOUT, start_new_session=True
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._file.close()


class ShopDatabase:
    """The shop's database: a SQLite file, or a PostgreSQL database beside the test run's (named ``test_*``, so
    CI's check for databases left behind sees it)."""

    def __init__(self, test_database_url: str, folder: Path) -> None:
        parts = urlsplit(test_database_url)
        self.postgres = parts.scheme.startswith("postgres")
        if self.postgres:
            base = parts.path.lstrip("/") or "antom"
            self.name = f"test_{base}_shop"
            self.url = urlunsplit(parts._replace(path=f"/{self.name}"))
            self._server = urlunsplit(parts._replace(path="/postgres"))
        else:
            self.name = str(folder / "shop.sqlite3")
            self.url = f"sqlite:///{self.name}"

    def create(self) -> None:
        if self.postgres:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')  # a run killed half-way
            self._admin(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        if self.postgres:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        else:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(self.name + suffix).unlink(missing_ok=True)

    def rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        """The rows of a read-only query written with ``%s`` placeholders, as dicts."""
        if self.postgres:
            import psycopg  # noqa: PLC0415 - only PostgreSQL runs have it for sure
            from psycopg.rows import dict_row  # noqa: PLC0415

            with psycopg.connect(self.url, row_factory=dict_row, autocommit=True) as connection:
                return list(connection.execute(sql, params).fetchall())
        with closing(sqlite3.connect(f"file:{self.name}?mode=ro", uri=True, timeout=10)) as connection:
            connection.row_factory = sqlite3.Row
            return [dict(row) for row in connection.execute(sql.replace("%s", "?"), params)]

    def _admin(self, statement: str) -> None:
        import psycopg  # noqa: PLC0415

        with psycopg.connect(self._server, autocommit=True) as connection:
            connection.execute(statement)


class Broker:
    """The worker's broker. On Redis the shop uses Celery's default queue, ``celery``: what the run left there
    (that queue, its bindings, the worker's pidbox bindings, unacked messages) is removed after it, and nothing
    else (the suite's own Celery tests use queues of their own in the same database)."""

    def __init__(self, postgres: bool) -> None:
        given = os.environ.get("ANTOM_TEST_BROKER_URL", "redis://127.0.0.1:6379/11")
        self.url = given if postgres and given.startswith("redis") else "filesystem://"
        self.node = f"shop-e2e-{uuid.uuid4().hex[:8]}"
        """The worker's node name (``-n``), found in its pidbox bindings."""

    def close(self) -> None:
        if not self.url.startswith("redis"):
            return
        redis = self._redis()
        redis.delete(*redis.keys("celery\x06\x16*"), "celery", "_kombu.binding.celery")
        redis.delete("_kombu.binding_permanent.celery")
        for binding in redis.keys("_kombu.binding.*") + redis.keys("_kombu.binding_permanent.*"):
            for member in redis.smembers(binding):
                if self.node.encode() in member:
                    redis.srem(binding, member)
        for exchange in redis.zrange("_kombu.binding_deadlines", 0, -1):  # Kombu's expiring tables, now empty
            if not redis.exists(b"_kombu.binding." + exchange):
                redis.zrem("_kombu.binding_deadlines", exchange)
        for tag, entry in redis.hgetall("unacked").items():
            if json.loads(entry)[2] == "celery":  # [message, exchange, routing key]
                redis.hdel("unacked", tag)
                redis.zrem("unacked_index", tag)

    def _redis(self) -> Any:
        import redis  # noqa: PLC0415

        return redis.Redis.from_url(self.url)


class Deployment:
    """The three processes and what a test reads beside the browser: the shop's database and the simulator."""

    def __init__(self, folder: Path, test_database_url: str) -> None:
        self.folder = folder
        self.site = folder / "example_project"
        self.keys = folder / "keys"
        self.database = ShopDatabase(test_database_url, folder)
        self.broker = Broker(self.database.postgres)
        self.shop_url = f"http://127.0.0.1:{free_port()}"
        self.simulator_url = f"http://127.0.0.1:{free_port()}"
        self.processes: dict[str, Process] = {}
        self.env = {key: value for key, value in os.environ.items() if key not in SHOP_ENVIRONMENT}
        self.env.update(
            PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
            PYTHONUNBUFFERED="1",
            DJANGO_SETTINGS_MODULE="shopsite.settings",
            DATABASE_URL=self.database.url,
            CELERY_BROKER_URL=self.broker.url,
            SHOP_URL=self.shop_url,
            ANTOM_GATEWAY_URL=self.simulator_url,
            ANTOM_KEYS_DIR=str(self.keys),
        )

    # -- life -------------------------------------------------------------------

    def start(self) -> None:
        shutil.copytree(PROJECT, self.site, ignore=_local_state)
        self.database.create()
        setup = self.manage("shop_setup")
        assert "Admin user: admin / antom-demo" in setup, setup
        python = sys.executable
        self._spawn(
            "simulator",
            [python, "manage.py", "antom_sandbox", "--port", self.simulator_url.rsplit(":", 1)[1]]
            + ["--settle-delay", str(SETTLE_DELAY)],
        )
        self._spawn("shop", [python, "manage.py", "runserver", self.shop_url.removeprefix("http://"), "--noreload"])
        self._spawn(
            "worker",
            [python, "-m", "celery", "-A", "shopsite", "worker", "-B", "-P", "solo", "-l", "info"]
            + ["--without-gossip", "--without-mingle", "-n", f"{self.broker.node}@%h"],
        )
        self._wait_for("simulator", lambda: requests.get(f"{self.simulator_url}/sandbox/health", timeout=2).ok)
        self._wait_for("shop", lambda: requests.get(f"{self.shop_url}/", timeout=5).ok)
        self._wait_for("worker", lambda: " ready." in self.processes["worker"].output())

    def stop(self) -> None:
        for name in ("worker", "shop", "simulator"):  # the worker first: it holds database connections
            if name in self.processes:
                self.processes[name].stop()
        self.broker.close()
        self.database.drop()

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=self.site,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, f"manage.py {' '.join(args)} failed\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def _spawn(self, name: str, command: list[str]) -> None:
        self.processes[name] = Process(name, command, self.site, self.env, self.folder / f"{name}.log")

    def _wait_for(self, name: str, ready: Any, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            process = self.processes[name]
            assert process.alive(), f"the {name} exited\n{process.output()}"
            try:
                if ready():
                    return
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, f"the {name} did not start in {timeout}s\n{process.output()}"
            time.sleep(0.2)

    def logs(self, tail: int = 4000) -> dict[str, str]:
        return {name: process.output()[-tail:] for name, process in self.processes.items()}

    # -- what the tests read ----------------------------------------------------

    def payments(self, number: str) -> list[dict[str, Any]]:
        """The shop's payments of an order, oldest first."""
        return self.database.rows(
            "SELECT payment_request_id, payment_id, session_id, status, amount, currency, result_code"
            " FROM antom_django_payment WHERE reference_order_id = %s ORDER BY created_at, id",
            number,
        )

    def order(self, number: str) -> dict[str, Any]:
        (row,) = self.database.rows("SELECT status, currency, total_minor FROM shop_order WHERE number = %s", number)
        return row

    def client(self) -> AntomClient:
        """An API client signing as the shop's merchant: Antom's answers straight from the simulator."""
        return AntomClient(
            client_id="SANDBOX_5YLOCAL00000001",
            private_key=(self.keys / "merchant_private_key.pem").read_bytes(),
            antom_public_key=(self.keys / "antom_sandbox_public_key.pem").read_bytes(),
            gateway_url=self.simulator_url,
            max_retries=0,
        )

    def at_simulator(self, number: str) -> list[dict[str, Any]]:
        """The simulator's record of each payment the shop started for the order (``GET /sandbox/payments/<id>``),
        found by its paymentRequestId."""
        found = []
        with self.client() as client:
            for payment in self.payments(number):
                inquiry = client.inquiry_payment(payment_request_id=payment["payment_request_id"])
                answer = requests.get(f"{self.simulator_url}/sandbox/payments/{inquiry.payment_id}", timeout=10)
                answer.raise_for_status()
                found.append(answer.json())
        return found

    def charges(self, number: str) -> list[dict[str, Any]]:
        """The order's payments the simulator took money for."""
        return [payment for payment in self.at_simulator(number) if payment["paymentStatus"] == "SUCCESS"]

    def charge(self, number: str, currency: str, value: str) -> dict[str, Any]:
        """The order's one charge at the simulator, once its amount is checked (``value`` in minor units)."""
        (charge,) = self.charges(number)
        assert charge["paymentAmount"] == {"currency": currency, "value": value}
        return charge

    def expire_session(self, session_id: str) -> dict[str, Any]:
        answer = requests.post(f"{self.simulator_url}/sandbox/sessions/{session_id}/expire", json={}, timeout=10)
        answer.raise_for_status()
        return dict(answer.json())


def _local_state(folder: str, names: list[str]) -> set[str]:
    """What a local run of the shop leaves in example_project/ (see its .gitignore): not copied."""
    ignored = {name for name in names if name == "__pycache__" or name.endswith((".pyc", ".antom-locks"))}
    if Path(folder) == PROJECT:
        ignored |= {name for name in names if name.startswith("db.sqlite3") or name in LOCAL_STATE}
    return ignored


@contextmanager
def deployed(folder: Path) -> Iterator[Deployment]:
    """A running deployment for the ``with`` block; every process stopped and the database dropped after it."""
    deployment = Deployment(folder, os.environ.get("ANTOM_TEST_DATABASE_URL", ""))
    with ExitStack() as stack:
        stack.callback(deployment.stop)
        deployment.start()
        yield deployment
