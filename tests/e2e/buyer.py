"""A buyer at the example shop in Chromium: what they click and read, by the ids of the shop's templates
(example_project/shop/templates/shop/) and of the simulator's card form."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from tests.browser import wait_until

from .deployment import ROOT, Deployment

APPROVED = "4242424242424242"
DECLINED = "4000000000000002"
THREE_D_SECURE = "4000000000003220"
PROCESSING = "4000000000000259"
WAIT = 30.0
"""Seconds to wait for a page or a payment: generous, the machine may be busy."""

ARTIFACTS = Path(os.environ.get("ANTOM_TEST_ARTIFACTS") or ROOT / "tests" / "artifacts") / "e2e"
DOCS = ROOT / "docs" / "screenshots"
POPUP = "[data-antom-sandbox-popup] iframe[data-antom-sandbox=popup]"
EMBEDDED = "#card-container iframe[data-antom-sandbox=embedded]"


class Buyer:
    """One browser session (one guest) at the shop; ``driver`` is Selenium's."""

    def __init__(self, driver: Any, shop: Deployment) -> None:
        self.driver, self.shop = driver, shop

    # -- finding things ---------------------------------------------------------

    def find(self, css: str) -> Any:
        return self.driver.find_element("css selector", css)

    def all(self, css: str) -> list[Any]:
        return list(self.driver.find_elements("css selector", css))

    def wait(self, condition: Any, timeout: float = WAIT) -> Any:
        return wait_until(self.driver, condition, timeout)

    def wait_for(self, css: str, timeout: float = WAIT) -> Any:
        """The element once it is displayed."""
        return self.wait(lambda d: (found := self.find(css)).is_displayed() and found, timeout)

    def text(self, css: str) -> str:
        return str(self.find(css).text)

    def message(self) -> str:
        return self.text("#checkout-message")

    def pay_button(self) -> Any:
        return self.find("#pay-button")

    # -- the shop's pages -------------------------------------------------------

    def open(self, path: str) -> None:
        self.driver.get(self.shop.shop_url + path)

    def buy(self, slug: str, extra_fields: dict[str, str] | None = None) -> str:
        """Buy now from the shelf; the new order's number (the checkout page is open)."""
        self.open("/")
        form = self.find(f"#product-{slug} form.buy-now")
        for name, value in (extra_fields or {}).items():
            self.driver.execute_script(
                "var input = document.createElement('input'); input.type = 'hidden';"
                " input.name = arguments[1]; input.value = arguments[2]; arguments[0].appendChild(input);",
                form,
                name,
                value,
            )
        form.find_element("css selector", "button.buy").click()
        self.wait(lambda d: "/checkout/SO-" in d.current_url)
        number = re.search(r"/checkout/(SO-[0-9A-Z]+)/", self.driver.current_url)
        assert number, self.driver.current_url
        self.wait_for("#pay-button")
        return number.group(1)

    def choose(self, experience: str) -> None:
        self.find(f"input[name=experience][value={experience}]").click()

    def pay_in_popup(self, card: str) -> None:
        """Pay: the simulator's popup opens, the card is typed into it and paid there."""
        self.open_popup()
        self.card_form(POPUP, card)
        self.submit_popup()

    def open_popup(self) -> None:
        self.wait(lambda d: self.pay_button().is_enabled())
        self.pay_button().click()
        self.wait_for(POPUP)

    def submit_popup(self) -> None:
        self.in_frame(POPUP, lambda: self.find("#pay-button").click())

    def card_form(self, frame: str, card: str) -> None:
        """Type a card into the simulator's form in ``frame`` (the popup's or the embedded one)."""
        self.wait_for(frame)

        def type_card() -> None:
            self.wait_for("#card-number").send_keys(card)
            self.find("#card-expiry").send_keys("12/34")
            self.find("#card-cvv").send_keys("123")

        self.in_frame(frame, type_card)

    def in_frame(self, css: str, action: Any) -> Any:
        self.driver.switch_to.frame(self.find(css))
        try:
            return action()
        finally:
            self.driver.switch_to.default_content()

    def close_popup(self) -> None:
        self.find("[data-antom-sandbox-close]").click()
        self.wait(lambda d: not self.all("[data-antom-sandbox-popup]"))

    def result(self, state: str, timeout: float = WAIT) -> Any:
        """The result page once it shows ``state`` (``#result[data-state]``)."""
        self.wait(lambda d: "/checkout/result/" in d.current_url, timeout)
        return self.wait(lambda d: self.find("#result").get_attribute("data-state") == state and self.find("#result"))

    def authorized(self, number: str) -> None:
        """The result page shows the payment authorized, then the order page the order awaiting its capture."""
        self.result("authorized")
        assert self.order_status(number, "awaiting_capture")

    def order_status(self, number: str, expected: str, timeout: float = WAIT) -> str:
        """The order page's status once it reads ``expected`` (the page does not refresh itself: reload it)."""
        self.open(f"/orders/{number}/")

        def status(driver: Any) -> bool:
            if self.find("#order-status").get_attribute("data-status") == expected:
                return True
            driver.refresh()
            return False

        self.wait(status, timeout)
        return expected

    # -- screenshots ------------------------------------------------------------

    def screenshot(self, name: str, docs: str | None = None) -> Path:
        """Save the page as ``<artifacts>/e2e/<name>.png``; with ``ANTOM_SCREENSHOTS=1`` also as
        docs/screenshots/``docs`` (committed, shown in the README)."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        target = ARTIFACTS / f"{name}.png"
        assert self.driver.save_screenshot(str(target))
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        if docs and os.environ.get("ANTOM_SCREENSHOTS") == "1":
            shutil.copyfile(target, DOCS / docs)
        return target
