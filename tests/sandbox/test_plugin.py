"""The pytest plugin: settings pointed at the simulator and restored; harmless for projects without Django."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from django.conf import settings

from antom_django.conf import antom_settings
from antom_django.pytest_plugin import CLIENT_ID, _point_settings_at
from antom_django.sandbox import SandboxServer

from .conftest import create_session


def test_fixture_points_settings_at_the_simulator(antom_sandbox: SandboxServer) -> None:
    assert settings.ANTOM["GATEWAY_URL"] == antom_sandbox.url
    assert settings.ANTOM["CLIENT_ID"] == CLIENT_ID
    assert settings.ANTOM["NOTIFY_URL"] == "https://shop.example.com/antom/notify/"  # the project's own keys stay
    assert antom_settings.is_sandbox
    with antom_settings.new_client(max_retries=0) as client:
        session = create_session(client)
    assert antom_sandbox.pay(session.payment_session_data)["status"] == "SUCCESS"


def test_settings_are_restored(antom_sandbox_server: SandboxServer) -> None:
    before = dict(settings.ANTOM)
    restore = _point_settings_at(antom_sandbox_server)
    assert settings.ANTOM["GATEWAY_URL"] == antom_sandbox_server.url
    assert antom_sandbox_server.url == antom_settings.GATEWAY_URL
    restore()
    assert before == settings.ANTOM
    assert before["GATEWAY_URL"] == antom_settings.GATEWAY_URL


def test_plugin_imports_no_django() -> None:
    code = (
        "import sys, antom_django.pytest_plugin; print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_fixture_in_a_project_without_django(tmp_path: Path) -> None:
    (tmp_path / "test_shop.py").write_text(
        textwrap.dedent(
            """
            from antom_django.client import Amount

            def test_pay(antom_sandbox):
                with antom_sandbox.client() as client:
                    session = client.create_payment_session(
                        payment_request_id="p-1", amount=Amount("USD", 1999), redirect_url="https://x.test/r",
                        reference_order_id="o-1", order_description="socks",
                    )
                assert antom_sandbox.pay(session.payment_session_data)["status"] == "SUCCESS"

            def test_unrelated():
                assert 1 + 1 == 2
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
