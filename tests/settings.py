"""Settings for the test suite. ANTOM_TEST_DATABASE_URL selects the database (default SQLite)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
VECTORS = json.loads((BASE_DIR / "fixtures" / "signature_vectors.json").read_text())

SECRET_KEY = "antom-django-tests"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "antom_django",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "tests.urls"
STATIC_URL = "/static/"

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

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("ANTOM_TEST_DATABASE_URL", f"sqlite:///{BASE_DIR / 'test.sqlite3'}"),
        conn_max_age=0,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" and DATABASES["default"]["NAME"] != ":memory:":
    # Django tests SQLite in a shared-cache in-memory database unless told otherwise. Its table locks
    # fail at once ("database table is locked", no busy timeout), unlike the file a project runs on:
    # the suite's live servers and worker processes get the file database users have.
    _name = Path(DATABASES["default"]["NAME"])
    DATABASES["default"]["TEST"] = {"NAME": str(_name.with_name(f"test_{_name.name}"))}

ANTOM = {
    "CLIENT_ID": VECTORS["client_id"],
    "PRIVATE_KEY": VECTORS["merchant_private_key"],
    "ANTOM_PUBLIC_KEY": VECTORS["antom_public_key"],
    "GATEWAY_URL": "https://open-sea-global.alipay.com",
    "NOTIFY_URL": "https://shop.example.com/antom/notify/",
    "REDIRECT_URL": "https://shop.example.com/checkout/result/",
    "MAX_RETRIES": 0,
    "ADAPTER": "tests.api.shop.ShopAdapter",
}
