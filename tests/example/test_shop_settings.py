"""``shopsite.settings`` reads everything from the environment; the defaults need no server at all."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.example import SHOP_ENVIRONMENT
from tests.processes import ROOT

EXAMPLE = ROOT / "example_project"


def load(monkeypatch: pytest.MonkeyPatch, **env: str) -> ModuleType:
    for name in SHOP_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delitem(sys.modules, "shopsite.settings", raising=False)  # a fresh module, put back afterwards
    return importlib.import_module("shopsite.settings")


def test_the_defaults_run_on_sqlite_the_filesystem_broker_and_the_simulator(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load(monkeypatch)

    assert s.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert s.DATABASES["default"]["NAME"] == str(EXAMPLE / "db.sqlite3")
    assert s.CELERY_BROKER_URL == "filesystem://"
    folders = s.CELERY_BROKER_TRANSPORT_OPTIONS
    assert folders == {
        "data_folder_in": str(EXAMPLE / ".broker"),
        "data_folder_out": str(EXAMPLE / ".broker"),
        "control_folder": str(EXAMPLE / ".broker" / "control"),
    }
    assert set(s.CELERY_BEAT_SCHEDULE) >= {"antom-process-due", "antom-sweep", "antom-apply-notifications"}
    assert s.ANTOM["GATEWAY_URL"] == "http://127.0.0.1:8765"
    assert s.ANTOM["NOTIFY_URL"] == "http://127.0.0.1:8000/antom/notify/"
    assert s.ANTOM["REDIRECT_URL"] == "http://127.0.0.1:8000/checkout/result/"
    assert s.ANTOM["PRIVATE_KEY_FILE"] == EXAMPLE / "keys" / "merchant_private_key.pem"
    assert s.ANTOM["ANTOM_PUBLIC_KEY_FILE"] == EXAMPLE / "keys" / "antom_sandbox_public_key.pem"
    assert (s.ANTOM["AUTO_CAPTURE"], s.ANTOM["NOTIFY_APPLY"]) == (False, "inline")
    assert (s.SHOP_SDK_URL, s.SHOP_SDK_ENVIRONMENT) == ("http://127.0.0.1:8765/sdk/ams-checkout.js", "sandbox")
    assert s.DEBUG is True


def test_postgresql_redis_and_antom_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load(
        monkeypatch,
        DATABASE_URL="postgres://shop@db.internal:5432/shop",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/3",
        SHOP_URL="https://shop.example.com/",
        ANTOM_GATEWAY_URL="https://open-sea-global.alipay.com",
        ANTOM_CLIENT_ID="SANDBOX_5YABC",
        ANTOM_AUTO_CAPTURE="1800",
        ANTOM_NOTIFY_APPLY="queue",
        SHOP_SDK_URL="https://sdk.example/ams-checkout.js",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="s3cret",
    )

    assert (s.DATABASES["default"]["ENGINE"], s.DATABASES["default"]["HOST"]) == (
        "django.db.backends.postgresql",
        "db.internal",
    )
    assert s.CELERY_BROKER_URL == "redis://127.0.0.1:6379/3"
    assert not hasattr(s, "CELERY_BROKER_TRANSPORT_OPTIONS")
    assert s.ANTOM["NOTIFY_URL"] == "https://shop.example.com/antom/notify/"
    assert "shop.example.com" in s.ALLOWED_HOSTS
    assert (s.ANTOM["CLIENT_ID"], s.ANTOM["AUTO_CAPTURE"], s.ANTOM["NOTIFY_APPLY"]) == (
        "SANDBOX_5YABC",
        1800.0,
        "queue",
    )
    assert s.SHOP_SDK_URL == "https://sdk.example/ams-checkout.js"
    assert (s.DEBUG, s.SECRET_KEY) == (False, "s3cret")


@pytest.mark.parametrize(("value", "expected"), [("false", False), ("true", True), ("0", False), ("2.5", 2.5)])
def test_auto_capture_values(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool | float) -> None:
    assert load(monkeypatch, ANTOM_AUTO_CAPTURE=value).ANTOM["AUTO_CAPTURE"] == expected


def test_a_production_setting_without_a_secret_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY"):
        load(monkeypatch, DJANGO_DEBUG="off")
    with pytest.raises(ImproperlyConfigured, match="ANTOM_AUTO_CAPTURE"):
        load(monkeypatch, ANTOM_AUTO_CAPTURE="soon")
