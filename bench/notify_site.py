"""Settings of the Django site bench/notify_throughput.py serves under gunicorn: antom_django's notify/ beside a floor view.

The floor is the least a webhook can do in Django: one INSERT of the body into
the same database, then the acknowledgment. Both views share settings,
middleware and database connections, so the ratio isolates antom_django's work.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dj_database_url

ROOT = Path(__file__).resolve().parents[1]
VECTORS = json.loads((ROOT / "tests" / "fixtures" / "signature_vectors.json").read_text())
DATABASE_URL = os.environ.get("ANTOM_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/antom_bench")
FLOOR_TABLE = "bench_floor"
ACK = b'{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}'

SECRET_KEY = "antom-django-bench"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
USE_TZ = True
ROOT_URLCONF = "bench.notify_urls"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "antom_django",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=None)}
ANTOM = {
    "CLIENT_ID": VECTORS["client_id"],
    "PRIVATE_KEY": VECTORS["merchant_private_key"],
    "ANTOM_PUBLIC_KEY": VECTORS["antom_public_key"],
    "NOTIFY_URL": "https://shop.example.com/antom/notify/",
    "REDIRECT_URL": "https://shop.example.com/checkout/result/",
    # bench/notify_throughput.py measures both modes, each in its own gunicorn.
    "NOTIFY_APPLY": os.environ.get("ANTOM_BENCH_NOTIFY_APPLY", "queue"),
}
# The bench serves notify/ only: no adapter for sessions/ (W020), and the queue workers it starts run the checks.
SILENCED_SYSTEM_CHECKS = ["antom_django.W020"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"antom_django": {"handlers": ["console"], "level": "ERROR", "propagate": False}},
}
