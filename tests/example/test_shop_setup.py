"""``manage.py shop_setup`` with the example's own settings, in a process of its own: idempotent, all set up."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

from tests.processes import ROOT

MANAGE = ROOT / "example_project" / "manage.py"


def manage(tmp_path: Path, *args: str) -> str:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "shopsite.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'shop.sqlite3'}",
        "ANTOM_KEYS_DIR": str(tmp_path / "keys"),
        "CELERY_BROKER_URL": "memory://",  # no broker folder in the source tree
    }
    result = subprocess.run(
        [sys.executable, str(MANAGE), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_shop_setup_twice_then_the_checks_pass(tmp_path: Path) -> None:
    first = manage(tmp_path, "shop_setup")
    second = manage(tmp_path, "shop_setup")

    assert "admin / antom-demo" in first and "Wrote" in first
    assert "kept" in second and "'admin' exists" in second
    keys = tmp_path / "keys"
    assert {p.name for p in keys.iterdir()} >= {
        "merchant_private_key.pem",
        "antom_sandbox_private_key.pem",
        "antom_sandbox_public_key.pem",
    }
    assert oct((keys / "merchant_private_key.pem").stat().st_mode & 0o777) == "0o600"
    manage(tmp_path, "check", "--fail-level", "WARNING")
    with closing(sqlite3.connect(tmp_path / "shop.sqlite3")) as db:
        assert db.execute("SELECT count(*) FROM shop_product").fetchone() == (4,)
        assert db.execute("SELECT username FROM auth_user WHERE is_superuser").fetchall() == [("admin",)]
