"""Settings of the example shop, all from the environment; the defaults run everything locally.

With nothing set: SQLite in ``example_project/db.sqlite3``, Kombu's filesystem transport as the Celery broker
(no server), and the bundled Antom sandbox simulator on ``127.0.0.1:8765``. ``DATABASE_URL`` and
``CELERY_BROKER_URL`` switch to PostgreSQL and Redis; ``ANTOM_*`` and ``SHOP_SDK_*`` point it at Antom.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from antom_django.beat import BEAT_SCHEDULE as ANTOM_BEAT_SCHEDULE

BASE_DIR = Path(__file__).resolve().parent.parent  # example_project/


def env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_auto_capture(value: str) -> bool | float:
    """``false`` / ``true`` / a number of seconds, as ``ANTOM["AUTO_CAPTURE"]`` takes it."""
    word = value.strip().lower()
    if word in {"", "0", "false", "no", "off"}:
        return False
    if word in {"true", "yes", "on"}:
        return True
    try:
        return float(word)
    except ValueError:
        raise ImproperlyConfigured(f"ANTOM_AUTO_CAPTURE must be false, true or seconds, not {value!r}") from None


DEBUG = env_flag("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("set DJANGO_SECRET_KEY when DJANGO_DEBUG is off")
    SECRET_KEY = "example-shop-insecure-key-for-local-use-only"

SHOP_URL = os.environ.get("SHOP_URL", "http://127.0.0.1:8000").rstrip("/")
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", urlsplit(SHOP_URL).hostname or "127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",  # the mobile apps' Authorization: Token <key> (see README.md)
    "antom_django",
    "shop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "shopsite.urls"
WSGI_APPLICATION = "shopsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# The startproject default on SQLite (antom_django needs no OPTIONS there); PostgreSQL with DATABASE_URL.
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"  # the SDKs' locale en_US (antom_django's adapter default)
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "static"

REST_FRAMEWORK = {
    # The web checkout uses the browser session (guests too); an app sends a token.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
}

# Antom: the simulator by default. Against Antom, set ANTOM_GATEWAY_URL, ANTOM_CLIENT_ID, the key files,
# SHOP_URL (https) and SHOP_SDK_URL / SHOP_SDK_ENVIRONMENT.
ANTOM_GATEWAY_URL = os.environ.get("ANTOM_GATEWAY_URL", "http://127.0.0.1:8765").rstrip("/")
ANTOM_KEYS_DIR = Path(os.environ.get("ANTOM_KEYS_DIR", str(BASE_DIR / "keys")))
ANTOM = {
    "CLIENT_ID": os.environ.get("ANTOM_CLIENT_ID", "SANDBOX_5YLOCAL00000001"),
    "PRIVATE_KEY_FILE": ANTOM_KEYS_DIR / "merchant_private_key.pem",
    # The simulator writes its public key here (manage.py shop_setup); against Antom, Antom's public key.
    "ANTOM_PUBLIC_KEY_FILE": Path(
        os.environ.get("ANTOM_PUBLIC_KEY_FILE", str(ANTOM_KEYS_DIR / "antom_sandbox_public_key.pem"))
    ),
    "GATEWAY_URL": ANTOM_GATEWAY_URL,
    "NOTIFY_URL": f"{SHOP_URL}/antom/notify/",
    "REDIRECT_URL": f"{SHOP_URL}/checkout/result/",
    "ADAPTER": "shop.payments.ShopAdapter",
    "AUTO_CAPTURE": env_auto_capture(os.environ.get("ANTOM_AUTO_CAPTURE", "false")),
    "NOTIFY_APPLY": os.environ.get("ANTOM_NOTIFY_APPLY", "inline"),
}

# The web SDK the checkout page loads: the simulator's stand-in, or Antom's own script (same page code).
SHOP_SDK_URL = os.environ.get("SHOP_SDK_URL", f"{ANTOM_GATEWAY_URL}/sdk/ams-checkout.js")
SHOP_SDK_ENVIRONMENT = os.environ.get("SHOP_SDK_ENVIRONMENT", "sandbox")

# Background work: Kombu's filesystem transport (a message is a file; nothing to install or run), or Redis.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _broker = BASE_DIR / ".broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker),
        "data_folder_out": str(_broker),
        "control_folder": str(_broker / "control"),  # else the transport writes control/ in the working directory
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE = {**ANTOM_BEAT_SCHEDULE}
CELERY_BEAT_SCHEDULE_FILENAME = str(BASE_DIR / ".broker" / "celerybeat-schedule")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "antom_django": {"handlers": ["console"], "level": "INFO"},
        "shop": {"handlers": ["console"], "level": "INFO"},
    },
}
