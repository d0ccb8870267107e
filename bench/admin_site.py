"""Settings of bench/admin_list.py: the Django admin over two databases of payments, a small one and a large one.

``default`` holds the large table and ``small`` the baseline; :class:`SizeRouter` sends every query (the test
client's session and user, the admin's own) to the one chosen by :func:`use`, so one process measures both
sizes alternately, page by page.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dj_database_url

from tests.settings import INSTALLED_APPS as _test_apps
from tests.settings import MIDDLEWARE, STATIC_URL, TEMPLATES, TIME_ZONE, USE_TZ, VECTORS  # noqa: F401 - the test project's

DATABASE_URL = os.environ.get("ANTOM_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/antom_bench_admin")

SECRET_KEY = "antom-django-bench"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
ROOT_URLCONF = "bench.admin_urls"
INSTALLED_APPS = [app for app in _test_apps if app != "drf_spectacular"]  # the admin only: no API schema
_large = dj_database_url.parse(DATABASE_URL, conn_max_age=None)
DATABASES = {"default": _large, "small": {**_large, "NAME": f"{_large['NAME']}_small"}}
DATABASE_ROUTERS = ["bench.admin_site.SizeRouter"]
ANTOM = {
    "CLIENT_ID": VECTORS["client_id"],
    "PRIVATE_KEY": VECTORS["merchant_private_key"],
    "ANTOM_PUBLIC_KEY": VECTORS["antom_public_key"],
    "NOTIFY_URL": "https://shop.example.com/antom/notify/",
    "REDIRECT_URL": "https://shop.example.com/checkout/result/",
}
# The bench serves the admin only: no adapter for sessions/ (W020).
SILENCED_SYSTEM_CHECKS = ["antom_django.W020"]

_current: contextvars.ContextVar[str] = contextvars.ContextVar("antom_bench_database", default="default")


@contextmanager
def use(alias: str) -> Iterator[None]:
    """Send every query inside the block to the database ``alias``."""
    token = _current.set(alias)
    try:
        yield
    finally:
        _current.reset(token)


class SizeRouter:
    """Reads and writes go to the database :func:`use` chose; each database is migrated whole."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return _current.get()

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return _current.get()

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return True
