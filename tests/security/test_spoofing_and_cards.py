"""Throttling that a spoofed address header cannot dodge; no card data beyond Antom's masked facts is kept or shown."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import User
from django.core import serializers
from django.core.cache import cache
from django.test import Client, override_settings

from antom_django import services
from antom_django.client import Amount
from antom_django.sandbox import SandboxServer

THROTTLED = {"payments": ["antom_django.api.throttling.AntomRateThrottle"]}
SPOOFS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_FORWARDED", "HTTP_CLIENT_IP", "HTTP_TRUE_CLIENT_IP")


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def spoofed(n: int) -> dict[str, str]:
    """Every address header a client could write, a new address in each on every request."""
    address = f"198.51.100.{n}"
    headers = dict.fromkeys(SPOOFS, address)
    headers["HTTP_FORWARDED"] = f"for={address}"
    return {"REMOTE_ADDR": "203.0.113.7", **headers}


@pytest.mark.django_db
@pytest.mark.parametrize("num_proxies", [None, 0, 1])
def test_rotating_every_address_header_is_still_throttled(num_proxies: int | None) -> None:
    antom = {**settings.ANTOM, "THROTTLE_CLASSES": THROTTLED}
    rest: dict[str, Any] = {"DEFAULT_THROTTLE_RATES": {"antom_payments": "3/min"}, "NUM_PROXIES": num_proxies}
    with override_settings(ANTOM=antom, REST_FRAMEWORK=rest):
        if num_proxies == 1:
            # Behind one proxy the client's own entries come first; the proxy appends the address it saw.
            codes = [
                Client().get("/antom/payments/x/", **{**spoofed(n), "HTTP_X_FORWARDED_FOR": f"10.0.0.{n}, 192.0.2.1"})
                for n in range(5)
            ]
        else:
            codes = [Client().get("/antom/payments/x/", **spoofed(n)) for n in range(5)]
    assert [c.status_code for c in codes] == [404, 404, 404, 429, 429]


@pytest.mark.django_db(transaction=True)
def test_only_the_masked_card_number_is_stored_or_shown(antom_sandbox: SandboxServer) -> None:
    """A full test card number paid at the simulator: no table, status answer or admin page holds it."""
    card = "4111111111111111"
    payment = services.start_payment(amount=Amount("SGD", 4200), reference_order_id="o-1", description="Kettle")
    assert antom_sandbox.pay(payment.session_data, card=card)["status"] == "SUCCESS"
    payment = services.sync_payment(payment)
    assert payment.card_last4 == "1111"
    stored = "".join(
        serializers.serialize("json", model.objects.all()) for model in apps.get_app_config("antom_django").get_models()
    )
    assert "************1111" in stored  # what Antom returns, kept in the raw answer
    staff = Client()
    staff.force_login(User.objects.create_superuser("root"))
    page = staff.get(f"/admin/antom_django/payment/{payment.pk}/change/").content.decode()
    session = Client()
    session_store = session.session
    session_store["antom_payment_request_ids"] = [payment.payment_request_id]
    session_store.save()
    status = session.get(f"/antom/payments/{payment.payment_request_id}/").json()
    assert status["card"] == {"brand": "VISA", "last4": "1111"}
    for text in (stored, page, json.dumps(status)):
        assert card not in text
        assert card[:6] + "*" not in text  # no BIN beside the mask either
