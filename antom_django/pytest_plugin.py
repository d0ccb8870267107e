"""pytest plugin: the ``antom_sandbox`` fixture runs the sandbox simulator in-process for your tests.

Registered through the ``pytest11`` entry point. It imports nothing heavy at import time and
touches Django only when a test uses the fixture and Django settings are configured.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from antom_django.sandbox import SandboxServer

CLIENT_ID = "SANDBOX_5YPYTEST0000001"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "antom_sandbox_time_scale",
        "time scale of the antom_sandbox simulator (notification retries, settle delays); default 0.001",
        default="0.001",
    )


@pytest.fixture(scope="session")
def antom_sandbox_server(pytestconfig: pytest.Config) -> Iterator[SandboxServer]:
    """One simulator for the test session, on a free port, with a registered merchant ``SANDBOX_...``."""
    from antom_django.sandbox import SandboxConfig, SandboxServer  # noqa: PLC0415 - only when used

    scale = float(pytestconfig.getini("antom_sandbox_time_scale"))
    server = SandboxServer(config=SandboxConfig(time_scale=scale))
    server.add_merchant(CLIENT_ID)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def antom_sandbox(antom_sandbox_server: SandboxServer) -> Iterator[SandboxServer]:
    """The running simulator, emptied, with ``settings.ANTOM`` pointed at it (restored afterwards)."""
    server = antom_sandbox_server
    server.reset()
    restore = _point_settings_at(server)
    try:
        yield server
    finally:
        restore()
        server.reset()


def _point_settings_at(server: SandboxServer) -> Callable[[], None]:
    if "django" not in sys.modules:
        return lambda: None
    from django.conf import settings  # noqa: PLC0415 - Django only for Django projects

    if not settings.configured:
        return lambda: None
    from django.test.utils import override_settings  # noqa: PLC0415

    current: dict[str, Any] = dict(getattr(settings, "ANTOM", None) or {})
    for name in ("PRIVATE_KEY_FILE", "ANTOM_PUBLIC_KEY_FILE", "ENVIRONMENT"):
        current.pop(name, None)
    override = override_settings(ANTOM={**current, **server.antom_settings(server.merchant(CLIENT_ID))})
    override.enable()
    return override.disable
