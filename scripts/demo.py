"""``make demo``: the example shop with the sandbox simulator and the background worker, until Ctrl-C.

Runs ``shop_setup`` (keys, migrations, products, the demo admin user), starts the simulator, the shop
(runserver) and the worker (Celery with embedded beat), waits until each is up, prints the URLs and streams
their logs, each line under its process's name. Ctrl-C (or SIGTERM) stops them all.

``--check`` (``make demo-check``, and ``make demo`` when ``CI`` is set) starts the same, makes one purchase
through the real pages (:mod:`demo_purchase`), stops everything and exits 0, or 1 naming the failed step.

SQLite and Kombu's filesystem broker by default; PostgreSQL and Redis with ``DATABASE_URL`` and
``CELERY_BROKER_URL``. Ports: ``--port`` / ``DEMO_PORT`` (8000) and ``--sandbox-port`` / ``SANDBOX_PORT``
(8765); ``--check`` picks free ones unless given.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import importlib.util
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from demo_runner import DemoError, Output, Runner, Signals, Stop, free_port, http_ok, port_taken

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "example_project"
MANAGE = str(EXAMPLE / "manage.py")
HOST = "127.0.0.1"
LOCK = EXAMPLE / ".demo.lock"
START_TIMEOUT = 60.0
CARDS = [
    ("4242 4242 4242 4242", "approved"),
    ("4000 0000 0000 0002", "declined (DO_NOT_HONOR)"),
    ("4000 0000 0000 3220", "3-D Secure challenge"),
    ("4000 0000 0000 0259", "processing, settles after 30 s"),
]
WORKER_ARGS = ["-A", "shopsite", "worker", "-B", "-P", "solo", "-l", "info", "--without-mingle", "--without-gossip"]
"""The contract's worker, with embedded beat; it is the only worker, with nothing to mingle or gossip with."""
WORKER_MARKERS = {
    "ready": r"celery@\S+ ready\.",
    "beat": r"beat: Starting\.\.\.",
    "task": r"Task antom_django\.\w+\[[^\]]+\] succeeded",
}


@dataclass
class Config:
    shop_port: int
    sandbox_port: int
    check: bool
    database_url: str
    broker_url: str

    @property
    def shop_url(self) -> str:
        return f"http://{HOST}:{self.shop_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://{HOST}:{self.sandbox_port}"

    @property
    def local_state(self) -> bool:
        """Whether the run uses the example's own files (SQLite database, broker folder), one run at a time."""
        return not self.database_url or not self.broker_url or self.broker_url.startswith("filesystem:")

    def describe(self) -> str:
        database = hide_password(self.database_url) if self.database_url else f"SQLite {EXAMPLE / 'db.sqlite3'}"
        broker = hide_password(self.broker_url) if self.broker_url else f"filesystem {EXAMPLE / '.broker'}/"
        return f"database: {database}; broker: {broker}"

    def env(self) -> dict[str, str]:
        """The environment of every process: the same settings for the simulator, the shop and the worker."""
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="shopsite.settings",  # whatever the caller's (pytest sets its own)
            SHOP_URL=self.shop_url,
            ANTOM_GATEWAY_URL=self.gateway_url,
            PYTHONUNBUFFERED="1",
        )
        return env


def hide_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if at and ":" in credentials:
        credentials = credentials.split(":", 1)[0] + ":***"
    return f"{scheme}{sep}{credentials}{at}{host}"


def parse(argv: list[str]) -> Config:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="one scripted purchase, then stop (also when CI is set)")
    parser.add_argument("--interactive", action="store_true", help="run until Ctrl-C even when CI is set")
    parser.add_argument("--port", type=int, help="the shop's port (DEMO_PORT; 8000, or a free one with --check)")
    parser.add_argument(
        "--sandbox-port", type=int, help="the simulator's port (SANDBOX_PORT; 8765, or a free one with --check)"
    )
    args = parser.parse_args(argv)
    check = args.check or (bool(os.environ.get("CI")) and not args.interactive)
    ports = []
    for given, name, default in ((args.port, "DEMO_PORT", 8000), (args.sandbox_port, "SANDBOX_PORT", 8765)):
        value = given if given is not None else port_from_env(name)
        ports.append(value if value is not None else (0 if check else default))
    shop_port, sandbox_port = (port or free_port(HOST) for port in ports)
    return Config(
        shop_port=shop_port,
        sandbox_port=sandbox_port,
        check=check,
        database_url=os.environ.get("DATABASE_URL", ""),
        broker_url=os.environ.get("CELERY_BROKER_URL", ""),
    )


def port_from_env(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or not 0 <= int(value) < 65536:
        raise DemoError(f"{name}={value!r} is not a port number")
    return int(value)


def check_packages(config: Config) -> None:
    """The example's packages, named, rather than an ImportError in one of the processes."""
    needed = {"celery": "celery", "dj_database_url": "dj-database-url", "requests": "requests"}
    if config.database_url.startswith(("postgres", "pgsql")):
        needed["psycopg"] = "psycopg[binary]"
    if config.broker_url.startswith(("redis", "rediss")):
        needed["redis"] = "redis"
    missing = [package for module, package in needed.items() if importlib.util.find_spec(module) is None]
    if missing:
        raise DemoError(
            f"missing in {sys.executable}: {', '.join(missing)}. `make demo` installs them into .venv/; "
            "by hand: pip install -e '.[test]'"
        )


def check_ports(config: Config) -> None:
    """A taken port, named with the way to change it, before anything starts."""
    if config.shop_port == config.sandbox_port:
        raise DemoError(f"the shop and the simulator can not share port {config.shop_port}")
    for port, what, variable, flag in (
        (config.shop_port, "the shop's", "DEMO_PORT", "--port"),
        (config.sandbox_port, "the simulator's", "SANDBOX_PORT", "--sandbox-port"),
    ):
        if port_taken(HOST, port):
            raise DemoError(
                f"port {port} ({what}) is taken on {HOST}: stop what listens there, or choose another one, "
                f"e.g. `make demo {variable}={port + 1}` (or `scripts/demo.py {flag} {port + 1}`)"
            )


@contextlib.contextmanager
def one_run_at_a_time(config: Config) -> Iterator[None]:
    """Two runs on the same SQLite file and broker folder would work each other's payments: refuse the second."""
    if not config.local_state:
        yield
        return
    with LOCK.open("a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            raise DemoError(
                f"another demo (pid {lock.read().strip() or '?'}) is running on example_project's SQLite database "
                "and broker folder: stop it first (Ctrl-C in its terminal)"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        yield


def admin_credentials() -> tuple[str, str]:
    sys.path.insert(0, str(EXAMPLE))
    from shop.management.commands.shop_setup import ADMIN_PASSWORD, ADMIN_USERNAME

    return ADMIN_USERNAME, ADMIN_PASSWORD


class Demo:
    """One run: setup, the three processes, then either the wait for Ctrl-C or the scripted purchase."""

    def __init__(self, config: Config, output: Output) -> None:
        self.config, self.output = config, output
        self.runner = Runner()
        self.signals = Signals(self.runner)
        self.runner.checkpoint = self.signals.check
        self.stream = None if config.check else output.line  # --check shows the logs only when a step fails

    def say(self, text: str) -> None:
        self.output.line("demo", text)

    def run(self) -> int:
        self.signals.install()
        try:
            self.setup()
            self.start()
            if self.config.check:
                self.purchase()
            else:
                self.banner()
                self.wait()
            return 0
        except Stop as stop:
            self.say(f"{stop} received: stopping everything")
            return 0 if not self.config.check else 130
        except DemoError as exc:
            self.say(f"FAILED: {exc}")
            return 1
        finally:
            self.stop()

    def setup(self) -> None:
        self.say(f"setting up the example shop ({self.config.describe()})")
        setup = self.runner.start("setup", [sys.executable, MANAGE, "shop_setup"], cwd=ROOT, env=self.config.env())
        setup.start_reading(self.output.line)
        self.runner.wait_until(setup, "the end of shop_setup", lambda: not setup.running, START_TIMEOUT)
        self.runner.children.remove(setup)
        setup.reader.join(timeout=5)
        if setup.process.returncode != 0:
            raise DemoError(f"shop_setup failed (status {setup.process.returncode}), see above")

    def start(self) -> None:
        c, env = self.config, self.config.env()
        py = sys.executable
        # Beat keeps its schedule file in the broker folder whatever the broker (shop_setup makes the folder
        # only for the filesystem broker).
        (EXAMPLE / ".broker").mkdir(exist_ok=True)
        sandbox = self.runner.start(
            "sandbox", [py, MANAGE, "antom_sandbox", "--host", HOST, "--port", str(c.sandbox_port)], cwd=ROOT, env=env
        )
        shop = self.runner.start(
            "shop", [py, MANAGE, "runserver", f"{HOST}:{c.shop_port}", "--noreload"], cwd=ROOT, env=env
        )
        worker = self.runner.start(
            "worker", [py, "-m", "celery", *WORKER_ARGS], cwd=EXAMPLE, env=env, markers=WORKER_MARKERS
        )
        for child in (sandbox, shop, worker):
            child.start_reading(self.stream)
            self.say(f"started {child.name} (pid {child.pid})")
        wait = self.runner.wait_until
        wait(
            sandbox,
            f"answer at {c.gateway_url}/sandbox/health",
            lambda: http_ok(f"{c.gateway_url}/sandbox/health"),
            START_TIMEOUT,
        )
        self.say(f"sandbox is up: {c.gateway_url}/sandbox/health answers")
        wait(shop, f"answer at {c.shop_url}/", lambda: http_ok(f"{c.shop_url}/"), START_TIMEOUT)
        self.say(f"shop is up: {c.shop_url}/ answers")
        wait(
            worker,
            "'ready' and 'beat: Starting' lines",
            lambda: worker.counts.keys() >= {"ready", "beat"},
            START_TIMEOUT,
        )
        self.say("worker is up: connected to the broker, beat started")
        self.worker = worker

    def banner(self) -> None:
        c = self.config
        username, password = admin_credentials()
        lines = [
            "",
            "The example shop is running (Ctrl-C stops everything).",
            f"  Shop:       {c.shop_url}/",
            f"  Admin:      {c.shop_url}/admin/   user {username!r}, password {password!r}",
            f"  Simulator:  {c.gateway_url}/sandbox/health  (API, hosted checkout and web SDK stand-in)",
            f"  Data:       {c.describe()}",
            "  Test cards (any future expiry, any CVV):",
            *(f"    {number}  {outcome}" for number, outcome in CARDS),
            "  Buy something, pay, then capture it in the admin (Orders > the order > its payment > Capture).",
            "",
        ]
        self.output.say("\n".join(lines))

    def wait(self) -> None:
        while True:
            self.signals.check()
            died = self.runner.died()
            if died is not None:
                raise DemoError(f"{died.name} stopped by itself (status {died.process.returncode}); stopping the rest")
            time.sleep(0.2)

    def purchase(self) -> None:
        from demo_purchase import Purchase, StepFailed

        c = self.config
        self.say(f"one purchase through the shop's pages at {c.shop_url}")
        purchase = Purchase(c.shop_url, c.gateway_url, admin_credentials(), self.say, self.signals.check)
        try:
            purchase.run()
            deadline = time.monotonic() + 15
            while self.worker.counts["task"] == 0 and time.monotonic() < deadline:
                self.signals.check()
                time.sleep(0.2)
            if self.worker.counts["task"] == 0:
                raise StepFailed("the worker finished no task of the beat schedule in 15 s")
            self.say(f"the worker ran {self.worker.counts['task']} tasks of the beat schedule")
        except StepFailed as exc:
            self.show_logs()
            raise DemoError(str(exc)) from None

    def show_logs(self) -> None:
        for child in self.runner.children:
            for line in child.tail:
                self.output.line(child.name, line)

    def stop(self) -> None:
        if not self.runner.children:
            return
        names = ", ".join(child.name for child in self.runner.children)
        self.say(f"stopping {names}")
        killed = self.runner.stop()
        if killed:
            self.say(f"killed (did not stop within the grace period): {', '.join(killed)}")
        left = self.runner.leftovers()
        if left:
            self.say(f"FAILED: processes left in the groups of {', '.join(left)}")
            raise SystemExit(1)
        self.say("stopped; no process left")


def main(argv: list[str]) -> int:
    output = Output()
    try:
        config = parse(argv)
        check_packages(config)
        with one_run_at_a_time(config):
            check_ports(config)
            demo = Demo(config, output)
            code = demo.run()
    except DemoError as exc:
        output.line("demo", f"FAILED: {exc}")
        return 1
    if config.check and code == 0:
        output.line("demo", "check passed")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
