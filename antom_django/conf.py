"""The ``ANTOM`` settings dict, read through one lazy object with documented defaults."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from .client.api import DEFAULT_GATEWAY_URL, SANDBOX_PREFIX, AntomClient
from .client.errors import ConfigurationError
from .client.keys import load_private_key, load_public_key, read_key_file

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

SETTING_NAME = "ANTOM"

T = TypeVar("T")

DEFAULTS: dict[str, Any] = {
    # Credentials (Antom Dashboard → Developer → Quick start → Integration resources).
    "CLIENT_ID": None,
    "PRIVATE_KEY": None,
    "PRIVATE_KEY_FILE": None,
    "ANTOM_PUBLIC_KEY": None,
    "ANTOM_PUBLIC_KEY_FILE": None,
    "KEY_VERSION": "1",
    # Gateway. Sandbox is inferred from a SANDBOX_ client id unless ENVIRONMENT says otherwise.
    "GATEWAY_URL": DEFAULT_GATEWAY_URL,
    "ENVIRONMENT": None,
    # Where Antom sends notifications and buyers come back to.
    "NOTIFY_URL": None,
    "REDIRECT_URL": None,
    # Card authorization and capture.
    "IS_AUTHORIZATION": True,
    "CAPTURE_MODE": None,
    "AUTO_CAPTURE": False,
    # HTTP client.
    "CONNECT_TIMEOUT": 5.0,
    "READ_TIMEOUT": 15.0,
    "MAX_RETRIES": 2,
    "RETRY_BACKOFF": 0.5,
    "MAX_RESPONSE_BYTES": 1 << 20,
    # Inbound notifications.
    "NOTIFY_MAX_BYTES": 64 * 1024,
    "NOTIFY_TIME_TOLERANCE": 25 * 3600,
    # "inline": apply, then acknowledge. "queue": acknowledge once stored; a worker applies
    # (manage.py antom_apply_notifications, or the Celery task antom_django.tasks.apply_pending_notifications).
    "NOTIFY_APPLY": "inline",
    # A stored notification still unapplied after this many seconds is picked up by the sweep (inline mode).
    "NOTIFY_SWEEP_AFTER": 60.0,
    # Background work (antom_django.tasks): result polling, automatic capture, authorization expiry, follow-ups.
    "POLL_INTERVAL": 2.0,
    "POLL_WINDOW": 15 * 60,
    # The slower cadence after the poll window: the sweep re-inquires each unsettled payment this often.
    "SWEEP_INTERVAL": 5 * 60.0,
    # An unknown outcome (payment, capture, refund, cancel) still unsettled after this long is flagged for review.
    "FOLLOW_UP_WINDOW": 24 * 3600.0,
    # Signals still unsent this long after their transition committed (their process died) are sent by the sweep.
    "SIGNAL_RESEND_AFTER": 60.0,
    # A margin before authExpiryTime: "capture" what remains, "void" (cancel) it, or only "flag" it for review.
    "AUTH_EXPIRY_POLICY": "flag",
    "AUTH_EXPIRY_MARGIN": 24 * 3600.0,
    # HTTP API (antom_django.urls): the shop's adapter, per-endpoint permission and throttle classes.
    "ADAPTER": "antom_django.adapter.AntomAdapter",
    "PERMISSION_CLASSES": {
        "sessions": ["rest_framework.permissions.AllowAny"],
        "payments": ["antom_django.api.permissions.IsPaymentViewer"],
    },
    "THROTTLE_CLASSES": {"sessions": [], "payments": [], "notify": []},
    "STATUS_REFRESH_INTERVAL": 2.0,
    # Seconds past a session's stated expiry before a payment Antom has no record of is closed (Antom's time
    # has second precision, and its clock is not ours).
    "SESSION_EXPIRY_GRACE": 60.0,
    # Rejected notifications (bad signature, ...) are kept for forensics, bounded in size and count.
    "NOTIFY_REJECTED_BODY_BYTES": 2048,
    "NOTIFY_REJECTED_KEEP": 1000,
}

ENVIRONMENTS = ("sandbox", "production")
NOTIFY_APPLY_MODES = ("inline", "queue")
AUTH_EXPIRY_POLICIES = ("capture", "void", "flag")


class AntomSettings:
    """Lazy, cached access to ``settings.ANTOM`` merged over :data:`DEFAULTS`.

    ``antom_settings.CLIENT_ID`` reads a value; ``merchant_private_key`` and
    ``antom_public_key`` are parsed once and cached; ``get_client()`` returns one
    pooled :class:`~antom_django.client.AntomClient` per process, ``new_client()`` a new one. The cache is
    dropped whenever the ``ANTOM`` setting changes (``override_settings``).
    """

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}
        self._lock = threading.RLock()  # re-entrant: building the client reads the cached keys

    @property
    def user_settings(self) -> dict[str, Any]:
        value = getattr(settings, SETTING_NAME, None)
        return dict(value) if isinstance(value, dict) else {}

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"{SETTING_NAME} has no setting {name!r}")
        cache = self.__dict__["_cache"]
        if name not in cache:
            cache[name] = self.user_settings.get(name, DEFAULTS[name])
        return cache[name]

    def reload(self) -> None:
        with self._lock:
            client = self._cache.get("_client")
            self._cache.clear()
        if client is not None:
            client.close()

    def _cached(self, key: str, build: Callable[[], T]) -> T:
        if key not in self._cache:
            with self._lock:
                if key not in self._cache:
                    self._cache[key] = build()
        return cast(T, self._cache[key])

    def _key_text(self, name: str) -> str:
        """The key given inline in ``ANTOM[name]`` or as a path in ``ANTOM[name + "_FILE"]``."""
        file_setting = f"{name}_FILE"
        value = getattr(self, name)
        path = getattr(self, file_setting)
        if value and path:
            raise ConfigurationError(f"set {SETTING_NAME}['{name}'] or ['{file_setting}'], not both")
        if path:
            return read_key_file(path, what=name)
        if not value:
            raise ConfigurationError(f"{SETTING_NAME}['{name}'] (or ['{file_setting}']) is not set")
        return str(value)

    @property
    def merchant_private_key(self) -> rsa.RSAPrivateKey:
        """The merchant's RSA private key, parsed once."""
        return self._cached("_private_key", lambda: load_private_key(self._key_text("PRIVATE_KEY"), what="PRIVATE_KEY"))

    @property
    def antom_public_key(self) -> rsa.RSAPublicKey:
        """Antom's RSA public key, parsed once."""
        return self._cached(
            "_public_key", lambda: load_public_key(self._key_text("ANTOM_PUBLIC_KEY"), what="ANTOM_PUBLIC_KEY")
        )

    @property
    def is_sandbox(self) -> bool:
        """Explicit ``ENVIRONMENT`` wins; otherwise a ``SANDBOX_`` client id means sandbox."""
        if self.ENVIRONMENT in ENVIRONMENTS:
            return bool(self.ENVIRONMENT == "sandbox")
        return str(self.CLIENT_ID or "").startswith(SANDBOX_PREFIX)

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :class:`~antom_django.client.AntomClient` from settings."""
        if not self.CLIENT_ID:
            raise ConfigurationError(f"{SETTING_NAME}['CLIENT_ID'] is not set")
        return {
            "client_id": self.CLIENT_ID,
            "private_key": self.merchant_private_key,
            "antom_public_key": self.antom_public_key,
            "gateway_url": self.GATEWAY_URL,
            "sandbox": self.is_sandbox,
            "connect_timeout": self.CONNECT_TIMEOUT,
            "read_timeout": self.READ_TIMEOUT,
            "max_retries": self.MAX_RETRIES,
            "retry_backoff": self.RETRY_BACKOFF,
            "key_version": str(self.KEY_VERSION),
            "max_response_bytes": self.MAX_RESPONSE_BYTES,
        }

    def get_client(self) -> AntomClient:
        """One shared, pooled client built from settings."""
        return self._cached("_client", lambda: AntomClient(**self.client_kwargs()))

    def new_client(self, **overrides: Any) -> AntomClient:
        """A client of its own built from settings, ``overrides`` (any ``AntomClient`` argument) applied."""
        return AntomClient(**{**self.client_kwargs(), **overrides})


antom_settings = AntomSettings()


@receiver(setting_changed)
def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTING_NAME:
        antom_settings.reload()
