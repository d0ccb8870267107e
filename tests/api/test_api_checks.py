"""System checks for the API settings: ADAPTER, PERMISSION_CLASSES, THROTTLE_CLASSES."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from antom_django.checks import check_settings


def ids_with(**overrides: Any) -> list[str]:
    with override_settings(ANTOM={**settings.ANTOM, **overrides}):
        return [m.id for m in check_settings() if m.id and m.id.startswith(("antom_django.E02", "antom_django.W02"))]


def test_test_settings_are_clean() -> None:
    assert ids_with() == []


@pytest.mark.parametrize("value", ["shop.nowhere.Adapter", "antom_django.conf.antom_settings"])
def test_unusable_adapter(value: str) -> None:
    assert ids_with(ADAPTER=value) == ["antom_django.E020"]


def test_adapter_without_resolve_order() -> None:
    assert ids_with(ADAPTER="antom_django.adapter.AntomAdapter") == ["antom_django.W020"]


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("PERMISSION_CLASSES", ["rest_framework.permissions.AllowAny"]),
        ("PERMISSION_CLASSES", {"sessions": ["shop.nowhere.Permission"]}),
        ("THROTTLE_CLASSES", {"checkout": []}),
        ("THROTTLE_CLASSES", {"notify": "rest_framework.throttling.AnonRateThrottle"}),
    ],
    ids=["not-a-dict", "unimportable", "unknown-endpoint", "not-a-list"],
)
def test_malformed_class_settings(setting: str, value: Any) -> None:
    assert ids_with(**{setting: value}) == ["antom_django.E021"]
