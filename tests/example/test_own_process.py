"""Runs the example shop's tests (``tests/example/test_shop_*.py``) in a pytest process with their own settings."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.processes import ROOT


def test_the_example_shops_tests_pass_under_their_own_settings() -> None:
    result = subprocess.run(
        [
            sys.executable,
            *("-m", "pytest", "tests/example", "-q", "-p", "no:cacheprovider"),
            *("--ds", "tests.example.settings"),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-4000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]
