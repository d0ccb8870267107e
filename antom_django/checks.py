"""System checks for the ``ANTOM`` setting; each problem has its own stable id."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

from .client.api import SANDBOX_PREFIX
from .client.errors import ConfigurationError
from .client.keys import MIN_KEY_BITS, public_der_b64
from .conf import AUTH_EXPIRY_POLICIES, DEFAULTS, ENVIRONMENTS, NOTIFY_APPLY_MODES, SETTING_NAME, antom_settings

ANTOM_HOST_SUFFIXES = (".alipay.com", ".antglobal-us.com")
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "testserver"}

_NUMBERS = {
    "CONNECT_TIMEOUT": "a positive number of seconds",
    "READ_TIMEOUT": "a positive number of seconds",
    "RETRY_BACKOFF": "a positive number of seconds",
    "POLL_INTERVAL": "a positive number of seconds",
    "POLL_WINDOW": "a positive number of seconds",
    "NOTIFY_TIME_TOLERANCE": "a positive number of seconds",
    "MAX_RESPONSE_BYTES": "a positive number of bytes",
    "NOTIFY_MAX_BYTES": "a positive number of bytes",
    "STATUS_REFRESH_INTERVAL": "a positive number of seconds",
    "SESSION_EXPIRY_GRACE": "a positive number of seconds",
    "NOTIFY_REJECTED_BODY_BYTES": "a positive number of bytes",
    "NOTIFY_REJECTED_KEEP": "a positive number of records",
    "NOTIFY_SWEEP_AFTER": "a positive number of seconds",
    "SWEEP_INTERVAL": "a positive number of seconds",
    "FOLLOW_UP_WINDOW": "a positive number of seconds",
    "SIGNAL_RESEND_AFTER": "a positive number of seconds",
    "AUTH_EXPIRY_MARGIN": "a positive number of seconds",
}

CHECK_IDS: dict[str, str] = {
    "antom_django.E001": "ANTOM is not a dict",
    "antom_django.E002": "unknown setting name in ANTOM",
    "antom_django.E003": "CLIENT_ID is missing",
    "antom_django.E004": "PRIVATE_KEY is missing, unreadable or not an RSA private key",
    "antom_django.E005": "ANTOM_PUBLIC_KEY is missing, unreadable or not an RSA public key",
    "antom_django.E006": "ENVIRONMENT contradicts the CLIENT_ID prefix",
    "antom_django.E007": "GATEWAY_URL is not a usable URL",
    "antom_django.E008": "production client id against a gateway that is not Antom's",
    "antom_django.E009": "NOTIFY_URL is not https outside DEBUG",
    "antom_django.E010": "a setting has a value of the wrong type or range",
    "antom_django.E011": "REDIRECT_URL or NOTIFY_URL is not an absolute http(s) URL",
    "antom_django.W001": "ANTOM_PUBLIC_KEY is the public half of your own PRIVATE_KEY",
    "antom_django.W002": "RSA key shorter than 2048 bits",
    "antom_django.W003": "NOTIFY_URL or REDIRECT_URL not set",
    "antom_django.E020": "ADAPTER cannot be imported or is not an AntomAdapter subclass",
    "antom_django.E021": "PERMISSION_CLASSES or THROTTLE_CLASSES is malformed or names a class that cannot be imported",
    "antom_django.W020": "ADAPTER does not implement resolve_order, so POST sessions/ cannot work",
}


def _error(check_id: str, msg: str, hint: str | None = None) -> Error:
    return Error(msg, hint=hint, id=check_id)


def _warning(check_id: str, msg: str, hint: str | None = None) -> Warning:
    return Warning(msg, hint=hint, id=check_id)


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Every misconfiguration of ``settings.ANTOM`` a user can make."""
    raw = getattr(settings, SETTING_NAME, None)
    if raw is None:
        return [
            _error(
                "antom_django.E003",
                f"settings.{SETTING_NAME} is not set.",
                hint=f"Add {SETTING_NAME} = {{'CLIENT_ID': ..., 'PRIVATE_KEY': ..., 'ANTOM_PUBLIC_KEY': ...}}.",
            )
        ]
    if not isinstance(raw, dict):
        return [_error("antom_django.E001", f"settings.{SETTING_NAME} must be a dict, not {type(raw).__name__}.")]
    messages: list[CheckMessage] = []
    for run in _CHECKS:
        messages.extend(run(raw))
    return messages


def _unknown_names(raw: dict[str, Any]) -> list[CheckMessage]:
    out: list[CheckMessage] = []
    for name in sorted(set(raw) - set(DEFAULTS)):
        close = difflib.get_close_matches(str(name), DEFAULTS, n=1)
        hint = f"Did you mean {close[0]!r}?" if close else f"Known settings: {', '.join(sorted(DEFAULTS))}."
        out.append(
            _error("antom_django.E002", f"{SETTING_NAME}[{name!r}] is not a setting antom_django knows.", hint=hint)
        )
    return out


def _credentials(raw: dict[str, Any]) -> list[CheckMessage]:
    out: list[CheckMessage] = []
    client_id = raw.get("CLIENT_ID")
    if not client_id or not isinstance(client_id, str):
        out.append(
            _error(
                "antom_django.E003",
                f"{SETTING_NAME}['CLIENT_ID'] is not set.",
                hint="Copy the client ID from Antom Dashboard → Developer → Quick start.",
            )
        )
    private = public = None
    try:
        private = antom_settings.merchant_private_key
    except ConfigurationError as exc:
        out.append(
            _error(
                "antom_django.E004",
                f"{SETTING_NAME}: {exc.message}.",
                hint="Give the merchant RSA private key as base64 DER (PKCS#8 or PKCS#1) or PEM, "
                "inline in PRIVATE_KEY or as a path in PRIVATE_KEY_FILE. "
                "'python manage.py antom_keys --out keys/' generates a key pair.",
            )
        )
    try:
        public = antom_settings.antom_public_key
    except ConfigurationError as exc:
        out.append(
            _error(
                "antom_django.E005",
                f"{SETTING_NAME}: {exc.message}.",
                hint="Give Antom's RSA public key (from the Dashboard) as base64 DER or PEM, "
                "inline in ANTOM_PUBLIC_KEY or as a path in ANTOM_PUBLIC_KEY_FILE. "
                "For the sandbox simulator, 'python manage.py antom_sandbox --init' writes its "
                "antom_sandbox_public_key.pem.",
            )
        )
    if private is not None and public is not None and public_der_b64(private) == public_der_b64(public):
        out.append(
            _warning(
                "antom_django.W001",
                f"{SETTING_NAME}['ANTOM_PUBLIC_KEY'] is the public half of your own PRIVATE_KEY.",
                hint="Antom's responses and notifications are signed with Antom's key: "
                "copy 'Antom public key' from the Dashboard, not your own.",
            )
        )
    for label, key in (("PRIVATE_KEY", private), ("ANTOM_PUBLIC_KEY", public)):
        if key is not None and key.key_size < MIN_KEY_BITS:
            out.append(
                _warning(
                    "antom_django.W002",
                    f"{SETTING_NAME}['{label}'] is only {key.key_size} bits.",
                    hint=f"Use an RSA key of at least {MIN_KEY_BITS} bits.",
                )
            )
    return out


def _environment(raw: dict[str, Any]) -> list[CheckMessage]:
    out: list[CheckMessage] = []
    client_id = str(raw.get("CLIENT_ID") or "")
    sandbox_id = client_id.startswith(SANDBOX_PREFIX)
    env = raw.get("ENVIRONMENT")
    if env is not None and env not in ENVIRONMENTS:
        out.append(
            _error(
                "antom_django.E010",
                f"{SETTING_NAME}['ENVIRONMENT'] must be one of {ENVIRONMENTS} or None, not {env!r}.",
            )
        )
    elif env == "production" and sandbox_id:
        out.append(
            _error(
                "antom_django.E006",
                f"{SETTING_NAME}['ENVIRONMENT'] is 'production' but CLIENT_ID is a SANDBOX_ client id.",
                hint="Use the production client ID, or set ENVIRONMENT to 'sandbox' (or leave it unset).",
            )
        )
    elif env == "sandbox" and client_id and not sandbox_id:
        out.append(
            _error(
                "antom_django.E006",
                f"{SETTING_NAME}['ENVIRONMENT'] is 'sandbox' but CLIENT_ID is a production client id.",
                hint="Sandbox client IDs start with SANDBOX_; use it, or set ENVIRONMENT to 'production'.",
            )
        )
    gateway = raw.get("GATEWAY_URL", DEFAULTS["GATEWAY_URL"])
    parts = urlsplit(gateway) if isinstance(gateway, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        out.append(
            _error(
                "antom_django.E007",
                f"{SETTING_NAME}['GATEWAY_URL'] must be an http(s) URL, not {gateway!r}.",
                hint="For example https://open-sea-global.alipay.com (Asia) or https://open-na-global.alipay.com.",
            )
        )
        return out
    host = parts.hostname or ""
    is_antom = host.endswith(ANTOM_HOST_SUFFIXES)
    production = env == "production" or (env is None and client_id and not sandbox_id)
    if production and not is_antom:
        out.append(
            _error(
                "antom_django.E008",
                f"{SETTING_NAME}['GATEWAY_URL'] {gateway!r} is not an Antom host, but CLIENT_ID is a production client id.",
                hint="A local simulator takes a SANDBOX_ client id; production traffic goes to an Antom host.",
            )
        )
    elif parts.scheme != "https" and host not in LOCAL_HOSTS:
        out.append(
            _error(
                "antom_django.E007",
                f"{SETTING_NAME}['GATEWAY_URL'] must use https for {host!r}.",
                hint="Plain http is only accepted for a local simulator.",
            )
        )
    return out


def _urls(raw: dict[str, Any]) -> list[CheckMessage]:
    out: list[CheckMessage] = []
    for name in ("NOTIFY_URL", "REDIRECT_URL"):
        value = raw.get(name)
        if not value:
            out.append(
                _warning(
                    "antom_django.W003",
                    f"{SETTING_NAME}['{name}'] is not set.",
                    hint="Sessions need an absolute URL for it (or the adapter must supply one).",
                )
            )
            continue
        parts = urlsplit(value) if isinstance(value, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            out.append(
                _error("antom_django.E011", f"{SETTING_NAME}['{name}'] must be an absolute http(s) URL, not {value!r}.")
            )
            continue
        if name == "NOTIFY_URL" and parts.scheme != "https" and not settings.DEBUG:
            out.append(
                _error(
                    "antom_django.E009",
                    f"{SETTING_NAME}['NOTIFY_URL'] {value!r} is not https and DEBUG is off.",
                    hint="Antom delivers notifications over https only; use your public https URL.",
                )
            )
    return out


def _values(raw: dict[str, Any]) -> list[CheckMessage]:
    out: list[CheckMessage] = []
    for name, expected in _NUMBERS.items():
        if name in raw:
            value = raw[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                out.append(_error("antom_django.E010", f"{SETTING_NAME}['{name}'] must be {expected}, not {value!r}."))
    if "MAX_RETRIES" in raw:
        value = raw["MAX_RETRIES"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            out.append(
                _error("antom_django.E010", f"{SETTING_NAME}['MAX_RETRIES'] must be a whole number ≥ 0, not {value!r}.")
            )
    if "AUTO_CAPTURE" in raw:
        value = raw["AUTO_CAPTURE"]
        if not isinstance(value, bool) and (not isinstance(value, (int, float)) or value < 0):
            out.append(
                _error(
                    "antom_django.E010",
                    f"{SETTING_NAME}['AUTO_CAPTURE'] must be True, False or a delay in seconds, not {value!r}.",
                )
            )
    if raw.get("CAPTURE_MODE") not in (None, "MANUAL", "AUTOMATIC"):
        out.append(
            _error(
                "antom_django.E010",
                f"{SETTING_NAME}['CAPTURE_MODE'] must be 'MANUAL', 'AUTOMATIC' or None, not {raw['CAPTURE_MODE']!r}.",
            )
        )
    if raw.get("NOTIFY_APPLY", "inline") not in NOTIFY_APPLY_MODES:
        modes = " or ".join(repr(mode) for mode in NOTIFY_APPLY_MODES)
        out.append(
            _error("antom_django.E010", f"{SETTING_NAME}['NOTIFY_APPLY'] must be {modes}, not {raw['NOTIFY_APPLY']!r}.")
        )
    if raw.get("AUTH_EXPIRY_POLICY", "flag") not in AUTH_EXPIRY_POLICIES:
        policies = ", ".join(repr(p) for p in AUTH_EXPIRY_POLICIES)
        out.append(
            _error(
                "antom_django.E010",
                f"{SETTING_NAME}['AUTH_EXPIRY_POLICY'] must be one of {policies}, not {raw['AUTH_EXPIRY_POLICY']!r}.",
            )
        )
    if "IS_AUTHORIZATION" in raw and not isinstance(raw["IS_AUTHORIZATION"], bool):
        out.append(_error("antom_django.E010", f"{SETTING_NAME}['IS_AUTHORIZATION'] must be True or False."))
    return out


def _api(raw: dict[str, Any]) -> list[CheckMessage]:
    from django.utils.module_loading import import_string

    from .adapter import AntomAdapter

    out: list[CheckMessage] = []
    adapter = raw.get("ADAPTER", DEFAULTS["ADAPTER"])
    try:
        cls = import_string(adapter) if isinstance(adapter, str) else adapter
    except ImportError as exc:
        out.append(
            _error(
                "antom_django.E020",
                f"{SETTING_NAME}['ADAPTER'] {adapter!r} cannot be imported: {exc}.",
                hint="Give the dotted path of your AntomAdapter subclass, e.g. 'shop.payments.ShopAdapter'.",
            )
        )
        cls = None
    if cls is not None and not (isinstance(cls, type) and issubclass(cls, AntomAdapter)):
        out.append(
            _error(
                "antom_django.E020",
                f"{SETTING_NAME}['ADAPTER'] {adapter!r} is not a subclass of antom_django.adapter.AntomAdapter.",
            )
        )
    elif cls is not None and cls.resolve_order is AntomAdapter.resolve_order:
        out.append(
            _warning(
                "antom_django.W020",
                f"{SETTING_NAME}['ADAPTER'] does not implement resolve_order(); POST antom/sessions/ will fail.",
                hint="Subclass antom_django.adapter.AntomAdapter, implement resolve_order() for your orders "
                "and name the class in ANTOM['ADAPTER'].",
            )
        )
    for setting in ("PERMISSION_CLASSES", "THROTTLE_CLASSES"):
        value = raw.get(setting, DEFAULTS[setting])
        if not isinstance(value, dict) or not all(isinstance(v, (list, tuple)) for v in value.values()):
            out.append(
                _error(
                    "antom_django.E021",
                    f"{SETTING_NAME}['{setting}'] must be a dict of endpoint name to a list of class paths.",
                    hint="Endpoints: 'sessions', 'payments' and 'notify'.",
                )
            )
            continue
        for endpoint, names in value.items():
            if endpoint not in ("sessions", "payments", "notify"):
                out.append(
                    _error(
                        "antom_django.E021",
                        f"{SETTING_NAME}['{setting}'] has an unknown endpoint {endpoint!r}.",
                        hint="Endpoints: 'sessions', 'payments' and 'notify'.",
                    )
                )
            for name in names:
                if not isinstance(name, str):
                    continue
                try:
                    import_string(name)
                except ImportError as exc:
                    out.append(
                        _error("antom_django.E021", f"{SETTING_NAME}['{setting}'][{endpoint!r}]: {name!r}: {exc}.")
                    )
    return out


_CHECKS: list[Callable[[dict[str, Any]], list[CheckMessage]]] = [
    _unknown_names,
    _credentials,
    _environment,
    _urls,
    _values,
    _api,
]
