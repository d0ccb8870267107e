"""The demo's process runner: children in process groups of their own, logs prefixed per process, a clean stop."""

from __future__ import annotations

import collections
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

COLOURS = {"setup": "35", "sandbox": "36", "shop": "32", "worker": "33", "demo": "1"}
STOP_GRACE = 10.0
"""Seconds a process has to stop after SIGTERM before its whole group is killed."""


class DemoError(Exception):
    """Something the person running the demo must fix or know; the message says what."""


class Output:
    """Lines from several threads, each under its process's name (in colour on a terminal)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.colour = sys.stdout.isatty() and os.environ.get("NO_COLOR") is None

    def line(self, name: str, text: str) -> None:
        prefix = f"{name:<7} |"
        if self.colour:
            prefix = f"\033[{COLOURS.get(name, '0')}m{prefix}\033[0m"
        self.say(f"{prefix} {text}")

    def say(self, text: str = "") -> None:
        with self.lock, contextlib.suppress(OSError):  # a closed terminal or pipe must not stop the stopping
            sys.stdout.write(text + "\n")
            sys.stdout.flush()


class Child:
    """A process in a new session (its own process group), its output read line by line by a thread.

    ``markers`` are regular expressions counted as lines match them (the worker's "ready", its finished tasks).
    """

    def __init__(
        self, name: str, command: list[str], *, cwd: Path, env: dict[str, str], markers: dict[str, str] | None = None
    ) -> None:
        self.name, self.command = name, command
        self.markers = {key: re.compile(pattern) for key, pattern in (markers or {}).items()}
        self.counts: collections.Counter[str] = collections.Counter()
        self.tail: collections.deque[str] = collections.deque(maxlen=400)
        self.stream: Callable[[str, str], None] | None = None
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a terminal's Ctrl-C reaches the runner only; the runner stops each group
        )
        self.pid = self.process.pid
        self.reader = threading.Thread(target=self._read, name=f"read-{name}", daemon=True)

    def start_reading(self, stream: Callable[[str, str], None] | None) -> None:
        self.stream = stream
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.tail.append(text)
            for key, pattern in self.markers.items():
                if pattern.search(text):
                    self.counts[key] += 1
            if self.stream is not None:
                self.stream(self.name, text)

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def group_alive(self) -> bool:
        """Whether any process of the group is left (the child, or anything it started)."""
        try:
            os.killpg(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signum)


class Runner:
    """The demo's children: started, waited for, streamed, and stopped together."""

    def __init__(self) -> None:
        self.children: list[Child] = []
        self.hurry = False
        self.checkpoint: Callable[[], None] = lambda: None
        """Called in every wait: raises :class:`Stop` once a stop signal arrived."""

    def start(
        self, name: str, command: list[str], *, cwd: Path, env: dict[str, str], markers: dict[str, str] | None = None
    ) -> Child:
        child = Child(name, command, cwd=cwd, env=env, markers=markers)
        self.children.append(child)
        return child

    def wait_until(self, child: Child, what: str, ready: Callable[[], bool], timeout: float) -> None:
        """Poll ``ready`` until it is true; fail if the child exits first or the time runs out."""
        deadline = time.monotonic() + timeout
        while not ready():
            self.checkpoint()
            if not child.running:
                raise DemoError(
                    f"{child.name} exited (status {child.process.returncode}) before {what}{self.tail(child)}"
                )
            if time.monotonic() > deadline:
                raise DemoError(f"{child.name}: no {what} after {timeout:.0f} s{self.tail(child)}")
            time.sleep(0.1)

    def tail(self, child: Child, lines: int = 25) -> str:
        if child.stream is not None:  # its lines were shown as they came
            return ""
        shown = list(child.tail)[-lines:]
        return "\n" + "\n".join(f"{child.name:<7} | {line}" for line in shown) if shown else ""

    def died(self) -> Child | None:
        return next((child for child in self.children if not child.running), None)

    def stop(self) -> list[str]:
        """SIGTERM to each child, SIGKILL to its group if it is still there after the grace period (or at a second
        Ctrl-C); then make sure no process of any group is left. Returns what had to be killed.

        The signal goes to the child alone, not its group: the worker stops its embedded beat process itself
        (with beat signalled too, the worker waits for it forever)."""
        for child in self.children:
            if child.running:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        while any(child.running for child in self.children) and time.monotonic() < deadline and not self.hurry:
            time.sleep(0.05)
        killed = []
        for child in self.children:
            if child.running:
                killed.append(child.name)
                child.signal_group(signal.SIGKILL)
            child.process.wait()
        for child in self.children:
            # Anything the child started and left behind: asked to stop, then killed.
            end = time.monotonic() + (0 if self.hurry else 5)
            if child.group_alive():
                child.signal_group(signal.SIGTERM)
            while child.group_alive() and time.monotonic() < end:
                time.sleep(0.05)
            if child.group_alive():
                killed.append(f"{child.name}'s children")
                child.signal_group(signal.SIGKILL)
                time.sleep(0.1)
            if child.reader.is_alive():
                child.reader.join(timeout=5)
        return killed

    def leftovers(self) -> list[str]:
        return [child.name for child in self.children if child.group_alive()]


LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""The demo's servers are on this machine: never through a proxy from the environment."""


def http_ok(url: str) -> bool:
    """True once ``url`` answers 2xx or 3xx."""
    try:
        with LOCAL.open(url, timeout=2) as response:
            return 200 <= int(response.status) < 400
    except urllib.error.HTTPError as exc:
        return 200 <= exc.code < 400
    except (OSError, ValueError):
        return False


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_taken(host: str, port: int) -> bool:
    """Whether a server can not listen on ``host:port`` (as runserver and the simulator bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


class Signals:
    """SIGINT, SIGTERM and SIGHUP end the run. The handler only takes note (nothing is interrupted halfway, such
    as a process being started); the loops ask :meth:`check`. A second signal during the stop kills at once."""

    HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.received: int | None = None

    def install(self) -> None:
        for signum in self.HANDLED:
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: object) -> None:
        if self.received is not None:
            self.runner.hurry = True
        self.received = self.received or signum

    def check(self) -> None:
        if self.received is not None:
            raise Stop(self.received)


class Stop(Exception):
    """A stop signal arrived."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
