"""The demo's scripted purchase: the calls a browser makes, over HTTP, from the shelf to the shipped order.

Buy now, the checkout page, ``POST /antom/sessions/``, pay at the simulator's hosted checkout with a test card,
the result page and the status endpoint until the card is authorized, then the admin's capture (login, the
order's payment, the confirmation page) and the order page until it says shipped.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from datetime import date
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

CARD = "4242424242424242"
PRODUCT = "pour-over-kettle"
TIMEOUT = 10.0
"""Seconds for one HTTP call."""
SETTLE = 30.0
"""Seconds a state the notifications or the worker bring (authorized, shipped) may take to show."""


class StepFailed(Exception):
    """A step of the purchase did not go as a buyer or the staff would see it go."""


class Page(HTMLParser):
    """What the purchase reads from a page: elements by id, forms and their fields, links, scripts, messages."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: dict[str, dict[str, str]] = {}
        self.forms: list[dict[str, Any]] = []
        self.links: list[str] = []
        self.scripts: list[str] = []
        self.texts: dict[str, str] = {}
        self._open: list[tuple[str, str]] = []  # (tag, id) of elements whose text is collected
        self._form: dict[str, Any] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if "id" in a:
            self.ids[a["id"]] = a
            self.texts.setdefault(a["id"], "")
            self._open.append((tag, a["id"]))
        if tag == "form":
            self._form = {"attrs": a, "fields": {}}
            self.forms.append(self._form)
        elif tag in ("input", "button", "select", "textarea") and self._form is not None and a.get("name"):
            self._form["fields"].setdefault(a["name"], a.get("value", ""))
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "script" and a.get("src"):
            self.scripts.append(a["src"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        if self._open and self._open[-1][0] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for _, element_id in self._open:
            self.texts[element_id] += data

    def attr(self, element_id: str, name: str) -> str:
        if element_id not in self.ids:
            raise StepFailed(f"the page has no #{element_id}")
        return self.ids[element_id].get(name, "")

    def text(self, element_id: str) -> str:
        self.attr(element_id, "id")
        return " ".join(self.texts[element_id].split())


class Purchase:
    """One purchase as a guest, one capture as the demo's admin user; :meth:`run` prints each step."""

    def __init__(
        self,
        shop_url: str,
        gateway_url: str,
        admin: tuple[str, str],
        say: Callable[[str], None],
        checkpoint: Callable[[], None],
    ) -> None:
        self.shop, self.gateway, self.admin = shop_url.rstrip("/"), gateway_url.rstrip("/"), admin
        self.say, self.checkpoint = say, checkpoint
        self.buyer, self.staff = local_session(), local_session()
        self.number = self.step = self.total = ""
        self.buy_form: dict[str, Any] = {}
        self.pay_data: dict[str, str] = {}
        self.session_id = self.request_id = self.payment_url = self.capture_url = ""

    def run(self) -> None:
        steps: list[tuple[str, Callable[[], str]]] = [
            ("GET / (the shelf)", self.shelf),
            ("POST /orders/ (buy now)", self.buy),
            ("GET the checkout page", self.checkout),
            ("POST /antom/sessions/", self.session),
            ("pay at the simulator's hosted checkout", self.pay),
            ("the result page and the status endpoint", self.result),
            ("the order page: awaiting capture", self.held),
            ("log in to the admin", self.login),
            ("the admin: the order's payment", self.payment_page),
            ("the admin: Capture, then confirm", self.capture),
            ("the order page: shipped", self.shipped),
        ]
        for number, (name, step) in enumerate(steps, 1):
            self.checkpoint()
            self.step = f"step {number}/{len(steps)}, {name}"
            started = time.monotonic()
            try:
                said = step()
            except requests.RequestException as exc:
                raise StepFailed(f"{self.step}: {exc}") from None
            except StepFailed as exc:
                raise StepFailed(f"{self.step}: {exc}") from None
            self.say(f"[{number}/{len(steps)}] {name}: {said} ({time.monotonic() - started:.1f} s)")

    # -- the buyer --------------------------------------------------------------------------------------------

    def get(self, session: requests.Session, path: str, **kwargs: Any) -> requests.Response:
        return session.get(urljoin(self.shop + "/", path.lstrip("/")), timeout=TIMEOUT, **kwargs)

    def post(self, session: requests.Session, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Origin": self.shop, **kwargs.pop("headers", {})}  # as a browser sends it
        url = urljoin(self.shop + "/", path.lstrip("/"))
        return session.post(url, headers=headers, timeout=TIMEOUT, allow_redirects=False, **kwargs)

    def shelf(self) -> str:
        page = ok(self.get(self.buyer, "/"))
        forms = [f for f in page.forms if "buy-now" in f["attrs"].get("class", "").split()]
        if not forms:
            raise StepFailed("no buy-now form on the shelf (did shop_setup run its migrations?)")
        self.buy_form = next((f for f in forms if f["fields"].get("product") == PRODUCT), forms[0])
        return f"{len(forms)} products, buying {self.buy_form['fields']['product']!r}"

    def buy(self) -> str:
        response = self.post(self.buyer, self.buy_form["attrs"]["action"], data=self.buy_form["fields"])
        location = redirected(response)
        found = re.fullmatch(r"/checkout/([^/]+)/", urlsplit(location).path)
        if not found:
            raise StepFailed(f"redirected to {location}, not to a checkout page")
        self.number = found.group(1)
        return f"order {self.number}, redirected to {location}"

    def checkout(self) -> str:
        page = ok(self.get(self.buyer, f"/checkout/{self.number}/"))
        pay = page.ids.get("checkout")
        if pay is None:
            raise StepFailed("the order is not payable (no #checkout)")
        self.pay_data = pay
        self.total = page.text("order-total")
        page.attr("pay-button", "id")
        sdk = next((src for src in page.scripts if "ams-checkout" in src), "")
        script = self.buyer.get(sdk, timeout=TIMEOUT) if sdk else None
        if script is None or script.status_code != 200 or "AMSCashierPayment" not in script.text:
            raise StepFailed(f"the web SDK script {sdk or '(none)'} does not load")
        return f"total {self.total}, web SDK {sdk}"

    def session(self) -> str:
        response = self.post(
            self.buyer,
            self.pay_data["data-sessions-url"],
            json={"referenceOrderId": self.pay_data["data-order"]},
            headers={"X-CSRFToken": self.pay_data["data-csrf-token"]},
        )
        if response.status_code != 201:
            raise StepFailed(f"HTTP {response.status_code}: {response.text[:300]}")
        body = response.json()
        self.session_id, self.request_id = body["paymentSessionId"], body["paymentRequestId"]
        amount = body["amount"]
        return f"payment {self.request_id}, {amount['currency']} {amount['value']} (minor units), {body['environment']}"

    def pay(self) -> str:
        expiry = f"12/{(date.today().year + 3) % 100:02d}"
        url = f"{self.gateway}/checkout/{self.session_id}/pay"
        response = self.buyer.post(url, json={"cardNumber": CARD, "expiry": expiry, "cvv": "123"}, timeout=TIMEOUT)
        body = response.json()
        if response.status_code != 200 or body.get("status") != "SUCCESS":
            raise StepFailed(f"HTTP {response.status_code}: {body}")
        return f"card {CARD[:4]} … {CARD[-4:]}: {body['code']}"

    def result(self) -> str:
        page = ok(self.get(self.buyer, f"/checkout/result/?order={self.number}"))
        status_url = page.attr("result", "data-status-url")
        first = page.attr("result", "data-state")
        payment = self.until(lambda: self.status(status_url), lambda p: not p["isPending"], "the payment to settle")
        if payment["status"] != "AUTHORIZED":
            raise StepFailed(f"the payment is {payment['status']} ({payment['resultCode']}), not AUTHORIZED")
        state = ok(self.get(self.buyer, f"/checkout/result/?order={self.number}")).attr("result", "data-state")
        if state != "authorized":
            raise StepFailed(f"the result page says {state!r}, not 'authorized'")
        return f"result page {first!r} then {state!r}; {status_url}: {payment['status']}"

    def status(self, url: str) -> dict[str, Any]:
        response = self.get(self.buyer, url)
        if response.status_code != 200:
            raise StepFailed(f"GET {url}: HTTP {response.status_code}")
        return dict(response.json())

    def held(self) -> str:
        status = self.order_status("awaiting_capture")
        return f"/orders/{self.number}/ says {status!r}"

    def order_status(self, wanted: str) -> str:
        def read() -> str:
            return ok(self.get(self.buyer, f"/orders/{self.number}/")).attr("order-status", "data-status")

        return str(self.until(read, lambda status: status == wanted, f"the order to be {wanted!r}"))

    # -- the staff --------------------------------------------------------------------------------------------

    def login(self) -> str:
        page = ok(self.get(self.staff, "/admin/login/?next=/admin/"))
        form = next((f for f in page.forms if "username" in f["fields"]), None)
        if form is None:
            raise StepFailed("no login form")
        username, password = self.admin
        fields = {**form["fields"], "username": username, "password": password, "next": "/admin/"}
        location = redirected(self.post(self.staff, "/admin/login/", data=fields))
        if urlsplit(location).path != "/admin/":
            raise StepFailed(f"the login went to {location} (wrong password for {username!r}?)")
        return f"as {username!r}"

    def payment_page(self) -> str:
        orders = ok(self.get(self.staff, "/admin/shop/order/", params={"q": self.number}))
        links = [href for href in orders.links if re.fullmatch(r"/admin/antom_django/payment/[^/]+/change/", href)]
        if not links:
            raise StepFailed(f"the order list shows no payment link for {self.number}")
        self.payment_url = links[-1]
        page = ok(self.get(self.staff, self.payment_url))
        self.capture_url = page.attr("antom-action-capture", "href")
        return f"{self.payment_url}, its Capture button {self.capture_url}"

    def capture(self) -> str:
        page = ok(self.get(self.staff, self.capture_url))
        form = next((f for f in page.forms if f["attrs"].get("id") == "antom-confirm-form"), None)
        if form is None:
            raise StepFailed("no confirmation form")
        fields = {**form["fields"], "amount": "", "_confirm": "Capture"}  # empty: all that is left
        location = redirected(self.post(self.staff, self.capture_url, data=fields))
        messages = admin_messages(ok_text(self.get(self.staff, location)))
        if not any(text.startswith("Captured") for text in messages):
            raise StepFailed(f"the payment page says {messages or 'nothing'}")
        return "; ".join(messages)

    def shipped(self) -> str:
        status = self.order_status("shipped")
        return f"/orders/{self.number}/ says {status!r}"

    # -- waiting ----------------------------------------------------------------------------------------------

    def until(self, read: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
        deadline = time.monotonic() + SETTLE
        while True:
            value = read()
            if done(value):
                return value
            if time.monotonic() > deadline:
                raise StepFailed(f"waited {SETTLE:.0f} s for {what}; last seen {value!r}")
            self.checkpoint()
            time.sleep(0.5)


def local_session() -> requests.Session:
    """A browser of its own (cookies), talking to this machine's servers directly, never through a proxy."""
    session = requests.Session()
    session.trust_env = False
    return session


def ok(response: requests.Response) -> Page:
    return Page(ok_text(response))


def ok_text(response: requests.Response) -> str:
    if response.status_code != 200:
        raise StepFailed(f"GET {response.url}: HTTP {response.status_code}")
    return response.text


def redirected(response: requests.Response) -> str:
    if response.status_code not in (301, 302, 303):
        raise StepFailed(f"{response.request.method} {response.url}: HTTP {response.status_code}, not a redirect")
    return str(response.headers["Location"])


def admin_messages(text: str) -> list[str]:
    """The admin's messages (``ul.messagelist``) as text."""
    found = re.search(r'<ul class="messagelist">(.*?)</ul>', text, re.S)
    items = re.findall(r"<li[^>]*>(.*?)</li>", found.group(1), re.S) if found else []
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", "", item)).split()) for item in items]
