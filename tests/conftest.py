"""Shared fixtures: keys from Antom's signature vectors and a client bound to them."""

from __future__ import annotations

from typing import Any

import pytest

from antom_django.client import AntomClient
from tests.settings import VECTORS


@pytest.fixture
def vectors() -> dict[str, Any]:
    return VECTORS


@pytest.fixture
def client_kwargs() -> dict[str, Any]:
    """An ``AntomClient`` signing as the merchant and trusting the vectors' Antom key."""
    return {
        "client_id": VECTORS["client_id"],
        "private_key": VECTORS["merchant_private_key"],
        "antom_public_key": VECTORS["antom_public_key"],
        "gateway_url": "https://open-sea-global.alipay.com",
        "max_retries": 0,
        "clock": lambda: "1704081600000",
    }


@pytest.fixture
def antom(client_kwargs: dict[str, Any]) -> AntomClient:
    return AntomClient(**client_kwargs)
