"""The payment list and the payment page in a real headless Chromium: a capture and a refund typed in by hand,
Antom's notifications arriving over HTTP meanwhile, and screenshots for the README.

``ANTOM_SCREENSHOTS=1`` writes them to docs/screenshots/admin-list.png and admin-payment.png (committed);
otherwise to a temporary directory, so an ordinary run leaves the tree as it was.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.utils import timezone

from antom_django.models import Notification, Payment
from antom_django.sandbox import SandboxServer
from tests.browser import needs_chromium
from tests.reconcile.test_browser import a_day_of_business, browser, sold

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LIST = "/admin/antom_django/payment/"

pytestmark = needs_chromium
__all__ = ["browser"]  # the fixture


def screenshot(driver: Any, name: str, tmp_path: Path, width: int = 1400) -> Path:
    driver.set_window_size(width, 1000)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(int(height) + 120, 5000))
    target = (SCREENSHOTS if os.environ.get("ANTOM_SCREENSHOTS") == "1" else tmp_path) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(target))
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and target.stat().st_size > 20_000
    driver.set_window_size(1400, 1000)
    return target


def text(driver: Any) -> str:
    return str(driver.find_element("tag name", "body").text)


def says(driver: Any, phrase: str) -> None:
    """Wait until the page (the next one, after a click) shows ``phrase``."""
    from selenium.common.exceptions import StaleElementReferenceException

    def found() -> bool:
        try:
            return phrase in text(driver)
        except StaleElementReferenceException:  # the old page went while it was read
            return False

    wait_for(found)


def wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_the_list_and_the_payment_page(
    browser: Any, live_server: Any, antom_sandbox: SandboxServer, tmp_path: Path
) -> None:
    # Antom's notifications come to this live server's notify view, signed by the simulator.
    with override_settings(ANTOM={**settings.ANTOM, "NOTIFY_URL": f"{live_server.url}/antom/notify/"}):
        a_day_of_business(antom_sandbox)
        kettle = sold(antom_sandbox, "order-300", 4200)
        # Its PAYMENT_RESULT notification states authExpiryTime: bring the expiry close after it came.
        wait_for(lambda: Notification.objects.filter(payment=kettle).exists())
        Payment.objects.filter(pk=kettle.pk).update(auth_expires_at=timezone.now() + timedelta(hours=5, minutes=2))
        User.objects.create_superuser("ops", "ops@example.com", "pw")
        client = Client()
        client.force_login(User.objects.get(username="ops"))
        browser.get(live_server.url + "/admin/login/")
        browser.add_cookie({"name": "sessionid", "value": client.cookies["sessionid"].value, "path": "/"})

        browser.get(live_server.url + LIST)
        browser.execute_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")  # room for the list
        browser.get(live_server.url + LIST)
        assert browser.title.startswith("Select payment to view")
        rows = browser.find_elements("css selector", "#result_list tbody tr")
        assert len(rows) == Payment.objects.count()
        body = text(browser)
        assert "(in 5 h)" in body and "⚑ review" in body and "15000 JPY" in body
        assert browser.find_element("css selector", ".antom-expiring").value_of_css_property("font-weight") == "600"
        screenshot(browser, "admin-list.png", tmp_path, width=1680)

        # A partial capture, typed in major units, then a refund of part of it, all through the buttons.
        browser.get(f"{live_server.url}{LIST}{kettle.pk}/change/")
        browser.find_element("id", "antom-action-capture").click()
        says(browser, "Capture payment")
        browser.find_element("id", "id_amount").send_keys("20.00")
        browser.find_element("name", "_confirm").click()
        says(browser, "Captured 20.00 SGD")
        browser.find_element("id", "antom-action-refund").click()
        says(browser, "Refund payment")
        browser.find_element("id", "id_amount").send_keys("5")
        browser.find_element("id", "id_reason").send_keys("one cup arrived chipped")
        browser.find_element("name", "_confirm").click()
        says(browser, "Refunded 5.00 SGD")
        kettle.refresh_from_db()
        assert (kettle.status, kettle.captured_amount, kettle.refunded_amount) == (
            Payment.Status.PARTIALLY_CAPTURED,
            2000,
            500,
        )
        # The simulator's notifications (payment, capture, refund results) reach the notify view.
        wait_for(lambda: Notification.objects.filter(payment=kettle).count() >= 3)

        browser.get(f"{live_server.url}{LIST}{kettle.pk}/change/")
        body = text(browser)
        assert "Timeline" in body and "Status PENDING → AUTHORIZED" in body
        assert "Capture 20.00 SGD: PENDING → SUCCEEDED" in body and "Refund 5.00 SGD: PENDING → SUCCEEDED" in body
        assert "Notification CAPTURE_RESULT received" in body and "signature verified" in body
        buttons = [a.text for a in browser.find_elements("css selector", "a.antom-action")]
        assert buttons == ["CAPTURE", "REFUND", "SYNC WITH ANTOM"]  # object-tools are upper case
        screenshot(browser, "admin-payment.png", tmp_path)
