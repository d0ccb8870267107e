"""The example shop's tests run under ``tests.example.settings`` only (see there why); the suite's own run
collects just ``test_own_process.py``, which runs them in a pytest process of their own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

OWN_PROCESS = "shop" in settings.INSTALLED_APPS
collect_ignore_glob = ["test_own_process.py"] if OWN_PROCESS else ["test_shop_*.py"]

if OWN_PROCESS:
    from pathlib import Path

    from django.test import Client

    from shop.models import Order, Product

    @pytest.fixture
    def kettle(db: None) -> Product:
        return Product.objects.get(slug="pour-over-kettle")  # SGD 42.00, from the data migration

    @pytest.fixture
    def buyer() -> Client:
        return Client()

    def buy(client: Client, slug: str = "pour-over-kettle", **extra: Any) -> Order:
        """Buy now as ``client``; the new order."""
        response = client.post("/orders/", {"product": slug, **extra})
        assert response.status_code == 302, response
        number = response["Location"].rstrip("/").rsplit("/", 1)[-1]
        return Order.objects.get(number=number)

    @pytest.fixture
    def no_notifications(antom_sandbox: Any) -> Iterator[Any]:
        """The simulator, with its notifications dropped: the tests learn results by inquiry (sync_payment)."""
        antom_sandbox.set_faults(notify_drop=-1)
        yield antom_sandbox

    def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
        """Remove the order-lock file antom_django keeps beside a SQLite test database (the database is gone)."""
        database = settings.DATABASES["default"]
        if database["ENGINE"] == "django.db.backends.sqlite3":
            Path(f"{database['TEST']['NAME']}.antom-locks").unlink(missing_ok=True)
