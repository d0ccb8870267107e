"""Per-endpoint permission and throttle classes read from ``ANTOM`` (import strings resolved lazily)."""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import import_string
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from ..conf import DEFAULTS, SETTING_NAME, antom_settings

ENDPOINTS = ("sessions", "payments", "notify")


class AntomRateThrottle(ScopedRateThrottle):
    """``ScopedRateThrottle`` keyed ``antom_<endpoint>``: set rates in ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``.

    An endpoint whose scope has no rate configured is not throttled, so adding
    this class is safe before choosing numbers.

    Anonymous callers are told apart by address. ``X-Forwarded-For`` is read only
    when ``REST_FRAMEWORK["NUM_PROXIES"]`` says how many proxies of yours append to
    it (then DRF takes the address the outermost of them saw); unset, the
    connection's ``REMOTE_ADDR`` is used. DRF itself would key on the whole header
    when ``NUM_PROXIES`` is unset, which a client can rewrite on every request.
    """

    def __init__(self) -> None:
        # Read per request, not at import, so REST_FRAMEWORK changes (and override_settings) apply.
        rates: Any = api_settings.DEFAULT_THROTTLE_RATES or {}
        self.THROTTLE_RATES = dict(rates)
        super().__init__()

    def get_ident(self, request: Any) -> str:
        if api_settings.NUM_PROXIES is None:
            return str(request.META.get("REMOTE_ADDR") or "")
        return str(super().get_ident(request))

    def allow_request(self, request: Any, view: Any) -> bool:
        scope = getattr(view, self.scope_attr, None)
        if not scope or scope not in self.THROTTLE_RATES:
            return True
        return super().allow_request(request, view)


def classes_for(setting: str, endpoint: str) -> list[type]:
    """The classes listed for ``endpoint`` in ``ANTOM[setting]``, falling back to the default per endpoint."""
    configured = getattr(antom_settings, setting)
    defaults = DEFAULTS[setting]
    if not isinstance(configured, dict):
        raise TypeError(f"{SETTING_NAME}['{setting}'] must be a dict keyed by {', '.join(ENDPOINTS)}")
    names = configured.get(endpoint, defaults.get(endpoint, []))
    return [import_string(name) if isinstance(name, str) else name for name in names]
