"""The README's five-minute quickstart, run as written: a new project, its files, its commands in order.

The files and commands come from README.md itself (each code block names the file it goes in, each
``sh`` line is a command), so the README cannot drift from what works. Only the ports change (two free
ones instead of 8765 and 8000), ``pip install`` is skipped (this environment has the package, and CI has
no network), and the checkout page's ``fetch()`` is done over HTTP the way a browser would do it.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from antom_django.sandbox.server import session_id_from

ROOT = Path(__file__).resolve().parents[1]
SECTION = "### Five-minute quickstart against the simulator"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.S | re.M)
FILE_MARKER = re.compile(r"^(?:# |<!-- )(?P<path>[\w./-]+)(?P<append> \(add at the end\))?(?: -->)?$")
LEFT_RUNNING = "# each in its own terminal, left running"
SIMULATOR_PORT, SHOP_PORT = "8765", "8000"


@dataclass(frozen=True)
class Step:
    kind: str  # "write", "append", "run" or "serve"
    target: str  # a file path, or a command line
    text: str = ""


def quickstart_steps(readme: str) -> list[Step]:
    """The quickstart section's code blocks, in order, as files to write and commands to run."""
    start = readme.index(SECTION)
    section = readme[start : readme.index("\n## ", start)]
    steps: list[Step] = []
    for language, body in FENCE.findall(section):
        first, _, rest = body.partition("\n")
        if language == "sh":
            kind = "serve" if first == LEFT_RUNNING else "run"
            lines = body.splitlines()[1:] if kind == "serve" else body.splitlines()
            steps += [Step(kind, line) for line in lines if line.strip()]
            continue
        marker = FILE_MARKER.match(first)
        assert marker, f"a {language} block in the quickstart does not start with the file it goes in: {first!r}"
        # The marker line stays in a Python file (a comment); an HTML comment is left out of the page.
        text = rest if language == "html" else body
        steps.append(Step("append" if marker["append"] else "write", marker["path"], text))
    return steps


def free_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


def on_ports(text: str, simulator: str, shop: str) -> str:
    for before, after in (
        (f"127.0.0.1:{SIMULATOR_PORT}", f"127.0.0.1:{simulator}"),
        (f"--port {SIMULATOR_PORT}", f"--port {simulator}"),
        (f"127.0.0.1:{SHOP_PORT}", f"127.0.0.1:{shop}"),
        (f"runserver {SHOP_PORT}", f"runserver {shop}"),
    ):
        text = text.replace(before, after)
    return text


def argv(line: str) -> list[str] | None:
    """The command line as run here; ``None`` for ``pip install`` (already installed)."""
    words = shlex.split(line, comments=True)
    if words[:2] == ["pip", "install"]:
        assert words == ["pip", "install", "antom-django"], line
        return None
    if words[0] == "django-admin":
        return [sys.executable, "-m", "django", *words[1:]]
    assert words[0] == "python", f"an unexpected command in the quickstart: {line!r}"
    return [sys.executable, *words[1:]]


class Project:
    """A new directory, the README's files written into it and its commands run in it."""

    def __init__(self, path: Path, simulator: str, shop: str) -> None:
        self.path, self.simulator_port, self.shop_port = path, simulator, shop
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ANTOM_"))}
        self.env["PYTHONPATH"] = str(ROOT)  # this checkout's antom_django, as `pip install -e` would give
        self.env["PYTHONUNBUFFERED"] = "1"
        self.servers: list[tuple[subprocess.Popen[bytes], Path]] = []

    def apply(self, step: Step) -> None:
        text = on_ports(step.text, self.simulator_port, self.shop_port)
        target = self.path / step.target
        if step.kind == "write":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        elif step.kind == "append":
            target.write_text(target.read_text() + "\n" + text)
        elif step.kind == "run":
            self.run(step.target)
        else:
            self.serve(step.target)

    def run(self, line: str) -> str:
        command = argv(on_ports(line, self.simulator_port, self.shop_port))
        if command is None:
            return ""
        done = subprocess.run(command, cwd=self.path, env=self.env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"`{line}` failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def serve(self, line: str) -> None:
        command = argv(on_ports(line, self.simulator_port, self.shop_port))
        assert command is not None
        log = self.path / f"server-{len(self.servers)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, cwd=self.path, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.servers.append((process, log))

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')}" for _, log in self.servers)

    def stop(self) -> None:
        for process, _ in self.servers:  # each started in its own session: runserver's reloader has a child
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process, _ in self.servers:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


class Browser:
    """Cookies kept across requests, as the buyer's browser keeps them."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def request(
        self, path: str, *, data: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, str, str]:
        """(status, final URL, body) of a request, redirects followed."""
        request = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.url, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.url, exc.read().decode()

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.cookies if c.name == name), None)


def wait_until_up(url: str, project: Project, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process, _ in project.servers:
            assert process.poll() is None, f"a server exited ({process.returncode}):\n{project.logs()}"
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not come up in {timeout} s:\n{project.logs()}")


def post_json(url: str, payload: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return dict(json.loads(response.read()))


def wait_for_acknowledged(simulator: str, payment_request_id: str, project: Project, timeout: float = 30.0) -> None:
    """Until the simulator's PAYMENT_RESULT for this payment has been acknowledged by the shop."""
    deadline = time.monotonic() + timeout
    seen: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{simulator}/sandbox/notifications", timeout=5) as response:
            seen = json.loads(response.read())["notifications"]
        if any(
            n["notifyType"] == "PAYMENT_RESULT"
            and n["payload"].get("paymentRequestId") == payment_request_id
            and n["state"] == "acked"
            for n in seen
        ):
            return
        time.sleep(0.2)
    raise AssertionError(f"no acknowledged PAYMENT_RESULT in {timeout} s: {seen}\n{project.logs()}")


@dataclass
class Running:
    project: Project
    simulator: str
    shop: str


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The quickstart done once, in README order, its two servers left running."""
    project = Project(tmp_path_factory.mktemp("quickstart"), free_port(), free_port())
    try:
        for step in quickstart_steps((ROOT / "README.md").read_text()):
            project.apply(step)
        running = Running(
            project, f"http://127.0.0.1:{project.simulator_port}", f"http://127.0.0.1:{project.shop_port}"
        )
        wait_until_up(f"{running.simulator}/sandbox/health", project)
        wait_until_up(f"{running.shop}/admin/login/", project)
        yield running
    finally:
        project.stop()


def log_in_at_checkout(shop: str, order: str) -> tuple[Browser, str]:
    """The buyer opens the checkout page, is sent to log in, and comes back to it: (browser, page)."""
    browser = Browser(shop)
    status, url, page = browser.request(f"/checkout/{order}/")
    assert status == 200 and "/admin/login/" in url, (status, url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token, page
    form = {
        "username": "buyer",
        "password": "try-antom",
        "csrfmiddlewaretoken": token[1],
        "next": f"/checkout/{order}/",
    }
    status, url, page = browser.request(
        f"/admin/login/?next=/checkout/{order}/", data=urllib.parse.urlencode(form).encode()
    )
    assert status == 200 and url.endswith(f"/checkout/{order}/"), (status, url, page[:500])
    return browser, page


def status_events(project: Project, payment_request_id: str) -> str:
    """The payment's status changes as (source, new status), read from the project's database."""
    return project.run(
        'python manage.py shell -c "from antom_django.models import PaymentEvent; '
        "print([(e.source, e.to_status) for e in PaymentEvent.objects.filter("
        f"kind='STATUS', payment__payment_request_id='{payment_request_id}')])\""
    )


def test_the_readme_parses_into_the_quickstart_steps() -> None:
    steps = quickstart_steps((ROOT / "README.md").read_text())
    commands = [s.target for s in steps if s.kind == "run"]
    assert commands[:2] == ["pip install antom-django", "django-admin startproject mysite ."]
    keys = next(i for i, c in enumerate(commands) if "antom_sandbox --init" in c)
    assert keys < commands.index("python manage.py migrate")  # the key files exist before the checks read them
    files = {s.target for s in steps if s.kind in ("write", "append")}
    assert {"mysite/settings.py", "shop/models.py", "shop/payments.py", "mysite/urls.py"} <= files
    served = [s.target for s in steps if s.kind == "serve"]
    assert [line.split("#")[0].split()[2] for line in served] == ["antom_sandbox", "runserver"]


def test_the_quickstart_works_in_readme_order(quickstart: Running) -> None:
    simulator, project = quickstart.simulator, quickstart.project
    browser, page = log_in_at_checkout(quickstart.shop, "order-1")
    assert f'<script src="{simulator}/sdk/ams-checkout.js">' in page
    with urllib.request.urlopen(f"{simulator}/sdk/ams-checkout.js", timeout=10) as sdk:
        assert b"AMSCashierPayment" in sdk.read()
    csrf_token = re.search(r'const csrfToken = "([^"]+)";', page)
    assert csrf_token and browser.cookie("csrftoken") and browser.cookie("sessionid"), page

    # What the page's fetch() sends: the cookies, and the token in X-CSRFToken (without it DRF refuses).
    body = json.dumps({"referenceOrderId": "order-1"}).encode()
    status, _, answer = browser.request("/antom/sessions/", data=body, headers={"Content-Type": "application/json"})
    assert status == 403 and "CSRF" in answer, (status, answer)
    headers = {"Content-Type": "application/json", "X-CSRFToken": csrf_token[1]}
    status, _, answer = browser.request("/antom/sessions/", data=body, headers=headers)
    assert status == 201, (status, answer, project.logs())
    session = json.loads(answer)
    assert session["referenceOrderId"] == "order-1"
    assert session["amount"] == {"currency": "SGD", "value": "4200"}

    # The buyer pays in the simulator's checkout; its signed notification reaches antom/notify/.
    paid = post_json(
        f"{simulator}/checkout/{session_id_from(session['paymentSessionData'])}/pay",
        {"cardNumber": "4242424242424242", "expiry": "12/34", "cvv": "123"},
    )
    assert paid["status"] == "SUCCESS", paid
    wait_for_acknowledged(simulator, session["paymentRequestId"], project)

    # The page's poll() sees the new status; the timeline shows the notification moved it.
    status, _, answer = browser.request(f"/antom/payments/{session['paymentRequestId']}/")
    assert status == 200, answer
    assert json.loads(answer)["status"] == "AUTHORIZED"
    assert "('NOTIFICATION', 'AUTHORIZED')" in status_events(project, session["paymentRequestId"])


NODE = shutil.which("node")
PAGE_STUBS = """
const SHOP = %(shop)s, SIMULATOR = %(simulator)s, COOKIE = %(cookie)s;
const realFetch = globalThis.fetch;
// The browser's part: relative URLs against the page's origin, its cookies on same-origin requests.
globalThis.fetch = (url, options = {}) => realFetch(SHOP + url, {...options, headers: {...options.headers, Cookie: COOKIE}});
globalThis.document = {getElementById: (id) => ({set textContent(text) { console.log(`#${id}: ${text}`); }})};
// The SDK's part: the buyer pays in the component, which then reports a result.
globalThis.AMSCashierPayment = class {
  constructor(options) { this.options = options; }
  async mountComponent(params, selector) {
    console.log(`mounted in ${selector}`);
    const session = JSON.parse(Buffer.from(params.sessionData.split("&&")[0], "base64")).sessionId;
    const paid = await realFetch(`${SIMULATOR}/checkout/${session}/pay`, {method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({cardNumber: "4242424242424242", expiry: "12/34", cvv: "123"})});
    console.log(`paid: ${(await paid.json()).status}`);
    this.options.onEventCallback({code: "SDK_PAYMENT_SUCCESSFUL", result: {}});
  }
};
"""


@pytest.mark.skipif(NODE is None, reason="runs the page's script in Node.js; the other test covers its requests")
def test_the_checkout_page_script_pays_and_shows_the_status(quickstart: Running, tmp_path: Path) -> None:
    """The README's <script> itself, in Node.js with a stand-in for the DOM and the SDK's card form."""
    quickstart.project.run(
        'python manage.py shell -c "from django.contrib.auth.models import User; from shop.models import Order; '
        "Order.objects.create(number='order-2', total_minor=1500, customer=User.objects.get(username='buyer'))\""
    )
    browser, page = log_in_at_checkout(quickstart.shop, "order-2")
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 1, page
    cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies)
    stubs = PAGE_STUBS % {
        k: json.dumps(v)
        for k, v in (("shop", quickstart.shop), ("simulator", quickstart.simulator), ("cookie", cookie))
    }
    (tmp_path / "page.js").write_text(stubs + scripts[0])
    done = subprocess.run([str(NODE), str(tmp_path / "page.js")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["mounted in #card-form", "paid: SUCCESS", "#status: AUTHORIZED"], (
        done.stdout + quickstart.project.logs()
    )
