"""Settings of bench/polling.py's processes: the Celery worker, the notify/ server and the bench itself.

The merchant and "Antom" keys are the test vectors', so the simulator the bench starts (with the vectors'
Antom key) and this site trust each other; ``ANTOM_BENCH_GATEWAY_URL`` points the site at that simulator.
"""

from __future__ import annotations

import os

import dj_database_url

from bench.notify_site import INSTALLED_APPS, MIDDLEWARE, VECTORS  # noqa: F401 - the same site, other settings

DATABASE_URL = os.environ.get("ANTOM_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/antom_bench_polling")
BROKER_URL = os.environ.get("ANTOM_BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
QUEUE = "antom-bench-polling"

SECRET_KEY = "antom-django-bench"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
ROOT_URLCONF = "bench.notify_urls"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=None)}
ANTOM = {
    "CLIENT_ID": VECTORS["client_id"],
    "PRIVATE_KEY": VECTORS["merchant_private_key"],
    "ANTOM_PUBLIC_KEY": VECTORS["antom_public_key"],
    "GATEWAY_URL": os.environ.get("ANTOM_BENCH_GATEWAY_URL", "http://127.0.0.1:9"),
    "NOTIFY_URL": os.environ.get("ANTOM_BENCH_NOTIFY_URL", "http://127.0.0.1:9/antom/notify/"),
    "REDIRECT_URL": "https://shop.example.com/checkout/result/",
    "NOTIFY_APPLY": "inline",  # a notification settles its payment before it is acknowledged
}
CELERY_BROKER_URL = BROKER_URL
CELERY_TASK_DEFAULT_QUEUE = QUEUE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The bench starts no adapter for sessions/ (W020): it creates its payments itself.
SILENCED_SYSTEM_CHECKS = ["antom_django.W020"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"antom_django": {"handlers": ["console"], "level": "WARNING", "propagate": False}},
}
