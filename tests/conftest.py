"""Shared fixtures: keys from Antom's signature vectors and a client bound to them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from antom_django.client import AntomClient
from tests.settings import VECTORS

# Every log record and response of the session is scanned for private key material (docs/security.md).
pytest_plugins = ["tests.security.scan"]


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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """With ``ANTOM_TEST_NO_SKIP=1`` (set by CI) a skip is a failure: PostgreSQL, Chromium and shared/
    are all present there, so a skipped test could only be hiding something."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("ANTOM_TEST_NO_SKIP") == "1" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under ANTOM_TEST_NO_SKIP=1: {report.longrepr}"
