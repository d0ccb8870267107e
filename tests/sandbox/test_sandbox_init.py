"""``manage.py antom_sandbox --init``: the simulator's key pair exists before ``migrate`` runs the checks."""

from __future__ import annotations

import io
import stat
from pathlib import Path

from django.core.management import call_command
from django.test import override_settings

from antom_django.checks import check_settings
from antom_django.client.keys import load_private_key, load_public_key, public_der_b64
from tests.settings import ANTOM

QUICKSTART = {k: v for k, v in ANTOM.items() if k != "ANTOM_PUBLIC_KEY"}


def init(*args: str) -> str:
    out = io.StringIO()
    call_command("antom_sandbox", "--init", *args, stdout=out)
    return out.getvalue()


def test_init_writes_the_pair_and_keeps_it(tmp_path: Path) -> None:
    output = init("--keys-dir", str(tmp_path))
    private, public = tmp_path / "antom_sandbox_private_key.pem", tmp_path / "antom_sandbox_public_key.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    key = load_private_key(private.read_text())
    assert public_der_b64(load_public_key(public.read_text())) == public_der_b64(key)
    assert "wrote a new" in output and str(public.resolve()) in output
    assert "PRIVATE KEY" not in output
    assert "kept the existing" in init("--keys-dir", str(tmp_path))  # a second run changes nothing
    assert public_der_b64(load_private_key(private.read_text())) == public_der_b64(key)


def test_without_keys_dir_it_writes_where_antom_public_key_file_points(tmp_path: Path) -> None:
    """The settings name the file; --init and the running simulator use its directory, whatever the cwd."""
    named = tmp_path / "somewhere" / "antom_sandbox_public_key.pem"
    antom = {**QUICKSTART, "ANTOM_PUBLIC_KEY_FILE": named}
    with override_settings(ANTOM=antom):
        assert [m.id for m in check_settings()] == ["antom_django.E005"]  # what migrate met before
        init()
        assert check_settings() == []
    assert (named.parent / "antom_sandbox_private_key.pem").exists()


def test_a_missing_key_file_check_says_which_command_writes_it(tmp_path: Path) -> None:
    antom = {
        **{k: v for k, v in QUICKSTART.items() if k != "PRIVATE_KEY"},
        "PRIVATE_KEY_FILE": tmp_path / "keys" / "merchant_private_key.pem",
        "ANTOM_PUBLIC_KEY_FILE": tmp_path / ".antom-sandbox" / "antom_sandbox_public_key.pem",
    }
    with override_settings(ANTOM=antom):
        hints = {m.id: m.hint for m in check_settings()}
    assert "python manage.py antom_keys --out keys/" in hints["antom_django.E004"]
    assert "python manage.py antom_sandbox --init" in hints["antom_django.E005"]


def test_the_public_key_file_is_never_seen_empty(tmp_path: Path) -> None:
    """The simulator writes it at every start while a shop may be reading it (``make demo`` starts both at once):
    the same key leaves the file untouched, and a new one replaces it whole, by a rename."""
    from antom_django.client.keys import generate_private_key, public_pem
    from antom_django.sandbox.server import write_public_key

    path = tmp_path / "antom_sandbox_public_key.pem"
    key = generate_private_key()
    write_public_key(path, key)
    first = path.stat()
    write_public_key(path, key)
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (first.st_ino, first.st_mtime_ns), "not rewritten"
    other = generate_private_key()
    write_public_key(path, other)
    assert path.read_bytes() == public_pem(other)
    assert path.stat().st_ino != first.st_ino, "replaced by a rename, not truncated in place"
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name], "no partial file left"
