"""``manage.py antom_keys``, ``manage.py antom_sandbox`` and ``python -m antom_django.sandbox``."""

from __future__ import annotations

import ast
import io
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from antom_django.client import AntomClient
from antom_django.client.keys import load_private_key, load_public_key, public_der_b64
from tests.settings import VECTORS

from .conftest import create_session

ROOT = Path(__file__).resolve().parents[2]


def test_antom_keys_prints_a_pair() -> None:
    out = io.StringIO()
    call_command("antom_keys", stdout=out)
    lines = [line for line in out.getvalue().splitlines() if line and not line.endswith(":")]
    public, private = lines
    assert public_der_b64(load_private_key(private)) == public
    assert load_private_key(private).key_size == 2048


def test_antom_keys_writes_files(tmp_path: Path) -> None:
    out = io.StringIO()
    call_command("antom_keys", "--out", str(tmp_path), stdout=out)
    private = tmp_path / "merchant_private_key.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    key = load_private_key(private.read_text())
    assert public_der_b64(load_public_key((tmp_path / "merchant_public_key.pem").read_text())) == public_der_b64(key)
    assert public_der_b64(key) in out.getvalue()
    with pytest.raises(CommandError, match="exists"):
        call_command("antom_keys", "--out", str(tmp_path), stdout=io.StringIO())
    with pytest.raises(CommandError, match="at least 2048"):
        call_command("antom_keys", "--bits", "1024", stdout=io.StringIO())


def _start(command: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    lines: list[str] = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("}"):
            break
    text = "".join(lines)
    block = text[text.index("ANTOM = {") + len("ANTOM = ") : text.index("}") + 1]
    return process, ast.literal_eval(block)


@pytest.fixture
def env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        process.terminate()
        process.wait(timeout=10)


def test_python_m_sandbox(tmp_path: Path, env: dict[str, str], processes: list[subprocess.Popen[str]]) -> None:
    process, settings = _start(
        [sys.executable, "-m", "antom_django.sandbox", "--port", "0", "--keys-dir", str(tmp_path)], env
    )
    processes.append(process)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", settings["GATEWAY_URL"])
    assert (tmp_path / "antom_sandbox_private_key.pem").exists()
    client = AntomClient(
        client_id=settings["CLIENT_ID"],
        private_key=Path(settings["PRIVATE_KEY_FILE"]).read_text(),
        antom_public_key=settings["ANTOM_PUBLIC_KEY"],
        gateway_url=settings["GATEWAY_URL"],
        max_retries=0,
    )
    assert create_session(client).result.status == "S"
    # The simulator keeps its key across restarts, so the shop's settings stay valid.
    process.terminate()
    process.wait(timeout=10)
    again, settings_again = _start(
        [sys.executable, "-m", "antom_django.sandbox", "--port", "0", "--keys-dir", str(tmp_path)], env
    )
    processes.append(again)
    assert settings_again["ANTOM_PUBLIC_KEY"] == settings["ANTOM_PUBLIC_KEY"]


def test_manage_py_antom_sandbox_trusts_the_project_key(
    tmp_path: Path, env: dict[str, str], processes: list[subprocess.Popen[str]]
) -> None:
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    process, settings = _start(
        [sys.executable, "manage.py", "antom_sandbox", "--port", "0", "--keys-dir", str(tmp_path)], env
    )
    processes.append(process)
    assert settings["CLIENT_ID"] == VECTORS["client_id"]
    client = AntomClient(
        client_id=VECTORS["client_id"],
        private_key=VECTORS["merchant_private_key"],
        antom_public_key=settings["ANTOM_PUBLIC_KEY"],
        gateway_url=settings["GATEWAY_URL"],
        max_retries=0,
    )
    assert create_session(client).result.status == "S"


def test_the_timing_options_reach_the_simulators_config() -> None:
    import argparse

    from antom_django.sandbox.cli import add_arguments, config_from

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    default = config_from(parser.parse_args([]))
    assert (default.session_ttl, default.auth_ttl) == (3600.0, 7 * 24 * 3600.0)
    short = config_from(parser.parse_args(["--session-ttl", "60", "--auth-ttl", "30"]))
    assert (short.session_ttl, short.auth_ttl) == (60.0, 30.0)
