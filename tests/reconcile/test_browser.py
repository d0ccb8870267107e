"""The reconciliation page in a real headless Chromium, with a screenshot for the README.

``ANTOM_SCREENSHOTS=1`` writes it to docs/screenshots/admin-reconcile.png (committed); otherwise to a temporary
directory, so an ordinary run leaves the tree as it was.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from antom_django import services
from antom_django.client import Amount
from antom_django.models import Capture, Notification, Payment
from antom_django.sandbox import SandboxServer
from tests.api.test_unknown_outcomes import fault
from tests.browser import needs_chromium, start_chromium

from .helpers import SAMPLE_DAY, SAMPLES, capture, payment, refund

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "admin-reconcile.png"
URL = "/admin/antom_django/payment/reconcile/"
P = Payment.Status

pytestmark = needs_chromium


@pytest.fixture
def browser() -> Iterator[Any]:
    driver = start_chromium("--window-size=1400,1000", "--hide-scrollbars")
    yield driver
    driver.quit()


def sold(
    sandbox: SandboxServer,
    reference: str,
    value: int,
    currency: str = "SGD",
    card: str = "4242424242424242",
    *,
    sync: bool = True,
) -> Payment:
    """A payment the buyer paid at the simulator with ``card``; synced here unless ``sync`` is false."""
    created = services.start_payment(
        amount=Amount(currency, value), reference_order_id=reference, description=reference
    )
    sandbox.pay(created.session_data, card)
    return services.sync_payment(created) if sync else created


def a_day_of_business(sandbox: SandboxServer) -> None:
    """A shop's week through the simulator: payments in most states, a few things for a person, and one payment
    Antom settled that we have not heard of."""
    for n, value in enumerate([4200, 1990, 8800]):
        sold(sandbox, f"order-10{n}", value)
    for n, value in enumerate([12900, 5600, 3300]):
        services.capture(sold(sandbox, f"order-11{n}", value))
    services.capture(sold(sandbox, "order-120", 4500), 2000)
    services.refund(services.capture(sold(sandbox, "order-130", 800)).payment)
    services.cancel(sold(sandbox, "order-140", 3100))
    sold(sandbox, "order-150", 2500, card="4000000000000002")  # declined
    services.capture(sold(sandbox, "order-160", 15000, "JPY"))
    flagged = sold(sandbox, "order-170", 7700)
    Payment.objects.filter(pk=flagged.pk).update(
        needs_review=True, review_reason="Antom's amount 77.70 SGD differs from ours 77.00 SGD"
    )
    stuck = services.start_payment(amount=Amount("SGD", 1200), reference_order_id="order-180", description="Lamp")
    Payment.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - timedelta(hours=3))
    Notification.objects.create(
        body="{}",
        notify_type="PAYMENT_RESULT",
        outcome=Notification.Outcome.UNKNOWN_PAYMENT,
        error="No payment with paymentRequestId pay_from_another_shop",
    )
    sold(sandbox, "order-190", 6400, sync=False)  # paid at Antom, still PENDING here: the check finds it
    lost = sold(sandbox, "order-200", 9900)
    with fault("http=503"):
        services.capture(lost, 3000)  # the answer is lost: outcome unknown
    assert Capture.objects.filter(status=Capture.Status.PENDING).count() == 1


def the_sample_day() -> None:
    """Our books for the sample report's day (2026-01-15): one refund of another amount, one capture we missed."""
    first = payment("pay_sample_001", 4200, "SGD", P.SUCCEEDED)
    capture(first, "cap_sample_001", 4200)
    second = payment("pay_sample_002", 1500, "JPY", P.SUCCEEDED)
    capture(second, "cap_sample_002", 1500)
    refund(second, "ref_sample_002", 400)
    payment("pay_sample_003", 10500, "KWD", P.AUTHORIZED)
    Payment.objects.filter(payment_request_id__startswith="pay_sample_").update(created_at=SAMPLE_DAY)


@pytest.mark.django_db(transaction=True)
def test_the_reconciliation_page_in_a_browser(
    browser: Any, live_server: Any, antom_sandbox: SandboxServer, tmp_path: Path
) -> None:
    a_day_of_business(antom_sandbox)
    User.objects.create_superuser("finance", "finance@example.com", "pw")
    client = Client()
    client.force_login(User.objects.get(username="finance"))
    today = timezone.now().date()
    client.post(f"{URL}check/", {"since": today, "until": today})
    the_sample_day()
    upload = SimpleUploadedFile("transactions-gbk.csv", (SAMPLES / "transactions-gbk.csv").read_bytes())
    client.post(f"{URL}report/", {"report": upload})

    browser.get(live_server.url + "/admin/login/")
    browser.add_cookie({"name": "sessionid", "value": client.cookies["sessionid"].value, "path": "/"})
    browser.get(f"{live_server.url}{URL}?since={today - timedelta(days=6)}&until={today}")
    assert browser.title.startswith("Reconciliation")
    body = browser.find_element("tag name", "body").text
    assert "Needs a person" in body and "Flagged for review" in body
    assert "Antom is ahead (a sync applies it)" in body
    assert "Cancels in flight 0" in body  # the cancel was answered: not in flight
    assert "2 differences" in body  # the payment paid at Antom, and the capture Antom never received
    assert "Settled by Antom, unknown to us" in body
    bars = browser.find_elements("css selector", "#dashboard svg rect")
    assert len(bars) == len(P.values)
    assert max(int(bar.get_attribute("width")) for bar in bars) > 100

    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1400, min(int(height) + 200, 5000))
    target = SCREENSHOT if os.environ.get("ANTOM_SCREENSHOTS") == "1" else tmp_path / SCREENSHOT.name
    target.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(target))
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and target.stat().st_size > 20_000
