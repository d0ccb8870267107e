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

from bench.notify_site import VECTORS

DATABASE_URL = os.environ.get("ANTOM_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/antom_bench_admin")

SECRET_KEY = "antom-django-bench"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "bench.admin_urls"
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "antom_django",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
STATIC_URL = "/static/"
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
