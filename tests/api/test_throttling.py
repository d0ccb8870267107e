"""AntomRateThrottle tells anonymous callers apart by an address they cannot choose."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client, override_settings

THROTTLED = {"payments": ["antom_django.api.throttling.AntomRateThrottle"]}
RATES = {"antom_payments": "2/min"}
URL = "/antom/payments/no-such-payment/"  # the throttle answers before the payment is looked up


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def throttled(**rest_framework: Any) -> Any:
    antom = {**settings.ANTOM, "THROTTLE_CLASSES": THROTTLED}
    return override_settings(ANTOM=antom, REST_FRAMEWORK={"DEFAULT_THROTTLE_RATES": RATES, **rest_framework})


def get(remote_addr: str, forwarded_for: str | None = None) -> int:
    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return Client().get(URL, **extra).status_code


@pytest.mark.django_db
def test_a_client_rotating_x_forwarded_for_is_still_throttled() -> None:
    """Without NUM_PROXIES the header is ignored: DRF alone would key on it and let each value through."""
    with throttled():
        codes = [get("198.51.100.7", f"203.0.113.{i}") for i in range(4)]
        assert get("198.51.100.8", "203.0.113.0") == 404  # another connection address has its own budget
    assert codes == [404, 404, 429, 429]


@pytest.mark.django_db
def test_behind_one_proxy_the_address_the_proxy_appended_counts() -> None:
    """NUM_PROXIES=1: whatever the client wrote first, the last entry (added by the proxy) is the key."""
    proxy = "10.0.0.2"
    with throttled(NUM_PROXIES=1):
        spoofing = [get(proxy, f"203.0.113.{i}, 192.0.2.10") for i in range(4)]
        other_client = get(proxy, "203.0.113.0, 192.0.2.11")
        no_header = [get(proxy) for _ in range(3)]  # a request that bypassed the proxy's header: its own address
    assert spoofing == [404, 404, 429, 429]
    assert other_client == 404  # every buyer behind the proxy is not lumped into one budget
    assert no_header == [404, 404, 429]


@pytest.mark.django_db
def test_num_proxies_zero_uses_the_connection_address() -> None:
    with throttled(NUM_PROXIES=0):
        codes = [get("198.51.100.9", f"203.0.113.{i}") for i in range(3)]
    assert codes == [404, 404, 429]
