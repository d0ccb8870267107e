"""A pytest plugin: no private key material in any log record or response body of the whole test session.

Every log record (all loggers, the root logger at DEBUG for the session) and every response body Django
returned in this process (the test client and ``live_server``, through ``BaseHandler.get_response``) is
checked as it appears for a PEM private-key marker and for any 40-character run of a known private key's
base64 DER (the test vectors' keys, ``ANTOM["PRIVATE_KEY"]``, and every ``PRIVATE_KEY`` an
``override_settings`` brings in, e.g. the simulator merchant's). Runs shared with the public half (the
modulus is in both) are not secret and are not counted. The session fails at the end if anything leaked.
Processes the suite starts (Celery workers, servers) are not seen here.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from antom_django.client.keys import load_private_key, private_der_b64, public_der_b64, read_key_file

CHUNK = 20
"""Any 40-character window of a string contains a whole aligned 20-character chunk of it."""

MARKERS = ("PRIVATE KEY-----",)
_RUN = re.compile(r"[A-Za-z0-9+/]{20,}")
_RUN_BYTES = re.compile(rb"[A-Za-z0-9+/]{20,}")  # runs of at least CHUNK base64 characters


def _b64_forms(key: rsa.RSAPrivateKey) -> tuple[list[str], list[str]]:
    """The private key's base64 DER forms (PKCS#8, PKCS#1) and its public key's (SPKI, PKCS#1)."""
    pkcs1 = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    public_pkcs1 = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    private = [private_der_b64(key), base64.b64encode(pkcs1).decode()]
    public = [public_der_b64(key), base64.b64encode(public_pkcs1).decode()]
    return private, public


@dataclass
class KeyScan:
    """Finds private key material in text: PEM markers, or a 40-character run of a known key's base64."""

    chunks: set[str] = field(default_factory=set)
    leaks: list[str] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=lambda: {"records": 0, "responses": 0})

    def add_key(self, value: Any) -> None:
        """Watch for this private key (an ``RSAPrivateKey``, or its text in any form ``PRIVATE_KEY`` takes)."""
        if not value:
            return
        key = value if isinstance(value, rsa.RSAPrivateKey) else load_private_key(value)
        private, public = _b64_forms(key)
        if isinstance(value, str):
            private.append("".join(line for line in value.splitlines() if "-----" not in line).replace(" ", ""))
        for text in private:
            for start in range(0, len(text) - CHUNK + 1, CHUNK):
                chunk = text[start : start + CHUNK]
                if not any(chunk in shared for shared in public):
                    self.chunks.add(chunk)

    def find(self, text: str | bytes) -> str:
        """What in ``text`` is key material ("" if nothing)."""
        if isinstance(text, bytes):
            if any(marker.encode() in text for marker in MARKERS):
                return "a PEM private key marker"
            runs = [run.decode() for run in _RUN_BYTES.findall(text)]
        else:
            if any(marker in text for marker in MARKERS):
                return "a PEM private key marker"
            runs = _RUN.findall(text)
        for run in runs:
            for chunk in self.chunks:
                if chunk in run:
                    return f"private key base64 ...{chunk[:8]}..."
        return ""

    def check(self, where: str, text: str | bytes) -> None:
        found = self.find(text)
        if found:
            self.leaks.append(f"{where}: {found}")


SCAN = KeyScan()
_current = {"test": "(outside a test)"}


class _Records(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        SCAN.seen["records"] += 1
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is the logging module's problem, not a leak
            text = str(record.msg)
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        SCAN.check(f"{_current['test']} log {record.name}", text)


def _watch_settings(*, setting: str, value: Any = None, **kwargs: Any) -> None:
    if setting == "ANTOM" and isinstance(value, dict):
        with contextlib.suppress(Exception):  # a test's deliberately broken key is nobody's secret
            SCAN.add_key(value.get("PRIVATE_KEY"))


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings
    from django.core.handlers.base import BaseHandler
    from django.core.signals import setting_changed

    from tests.settings import VECTORS

    antom = getattr(settings, "ANTOM", None) or {}
    for value in (VECTORS["merchant_private_key"], VECTORS["antom_private_key"], antom.get("PRIVATE_KEY")):
        SCAN.add_key(value)
    if antom.get("PRIVATE_KEY_FILE"):
        with contextlib.suppress(OSError):
            SCAN.add_key(read_key_file(antom["PRIVATE_KEY_FILE"], what="PRIVATE_KEY_FILE"))
    setting_changed.connect(_watch_settings, dispatch_uid="antom-key-scan")
    root = logging.getLogger()
    root.addHandler(_Records(logging.DEBUG))
    root.setLevel(logging.DEBUG)

    get_response = BaseHandler.get_response

    def scanned(self: BaseHandler, request: Any) -> Any:
        response = get_response(self, request)
        if not getattr(response, "streaming", False):
            SCAN.seen["responses"] += 1
            SCAN.check(f"{_current['test']} response {request.method} {request.path}", response.content)
        return response

    BaseHandler.get_response = scanned  # type: ignore[method-assign]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    _current["test"] = item.nodeid
    yield
    _current["test"] = "(outside a test)"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if SCAN.leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    terminalreporter.write_line(
        f"key-material scan: {SCAN.seen['records']} log records, {SCAN.seen['responses']} responses, "
        f"{len(SCAN.leaks)} leaks"
    )
    for leak in SCAN.leaks[:50]:
        terminalreporter.write_line(f"KEY MATERIAL LEAKED: {leak}", red=True)
