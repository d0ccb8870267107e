"""``--merchant-public-key`` of ``python -m antom_django.sandbox`` and ``manage.py antom_sandbox``.

Every key is accepted in every form (key text or file), and any other value is a usage error that says
what is wrong: never a traceback. The value used to be tried as a file name first, so 3-5 % of 2048-bit
keys failed with ``OSError: File name too long``, and a bad value raised ``KeyFormatError`` uncaught.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.management import CommandError
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from antom_django.client import AntomClient
from antom_django.client.keys import generate_private_key, private_der_b64, public_der_b64, public_pem
from antom_django.management.commands.antom_sandbox import Command
from antom_django.sandbox.cli import add_arguments
from antom_django.sandbox.keyarg import OPTION

from .conftest import create_session
from .test_commands import _start

ROOT = Path(__file__).resolve().parents[2]
FIXED_KEY = generate_private_key()


def _cli_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m antom_django.sandbox")
    add_arguments(parser)
    return parser


def parse(value: str) -> rsa.RSAPublicKey:
    """The value through the real ``python -m`` parser; a usage error comes back as ``UsageError``."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            key = _cli_parser().parse_args([f"{OPTION}={value}"]).merchant_public_key
    except SystemExit as exc:
        raise UsageError(exc.code, err.getvalue()) from None
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def parse_manage_py(value: str) -> rsa.RSAPublicKey:
    """The value through ``manage.py antom_sandbox``'s parser (``call_command`` style: a CommandError)."""
    parser = Command().create_parser("manage.py", "antom_sandbox")
    key = parser.parse_args([f"{OPTION}={value}"]).merchant_public_key
    assert isinstance(key, rsa.RSAPublicKey)
    return key


class UsageError(Exception):
    def __init__(self, code: object, stderr: str) -> None:
        super().__init__(stderr)
        self.code, self.stderr = code, stderr


def same_key(a: rsa.RSAPublicKey, b: rsa.RSAPublicKey) -> bool:
    return a.public_numbers() == b.public_numbers()


def _forms(key: rsa.RSAPrivateKey, directory: Path) -> dict[str, str]:
    public = key.public_key()
    b64 = public_der_b64(key)
    pem = public_pem(key).decode()
    pkcs1 = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1).decode()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    files = {
        "pem_file": ("pub.pem", pem.encode()),
        "pem_file_crlf_bom": ("bom.pem", b"\xef\xbb\xbf" + pem.replace("\n", "\r\n").encode()),
        "pkcs1_pem_file": ("pkcs1.pem", pkcs1.encode()),
        "der_file": ("pub.der", der),
        "base64_file": ("pub.txt", (b64 + "\n").encode()),
    }
    forms = {
        "base64_der": b64,
        "base64_der_wrapped": "\n".join(b64[i : i + 64] for i in range(0, len(b64), 64)),
        "pem_text": pem,
        "pem_text_one_line_env": pem.strip().replace("\n", "\\n"),
        "pkcs1_pem_text": pkcs1,
    }
    for name, (filename, data) in files.items():
        path = directory / filename
        path.write_bytes(data)
        forms[name] = str(path)
    forms["relative_pem_file"] = os.path.relpath(directory / "pub.pem")
    return forms


def test_fifty_fresh_keys_in_every_form(tmp_path: Path) -> None:
    for i in range(50):
        key = generate_private_key()
        directory = tmp_path / str(i)
        directory.mkdir()
        for form, value in _forms(key, directory).items():
            assert same_key(parse(value), key.public_key()), (i, form)
        assert same_key(parse_manage_py(public_der_b64(key)), key.public_key())


def _key_with_long_slashless_run() -> rsa.RSAPrivateKey:
    """A key whose base64 has no '/' in its first 256 characters: a first path component too long for the OS."""
    for _ in range(600):
        key = generate_private_key()
        if len(public_der_b64(key).split("/", 1)[0]) > 255:
            return key
    raise AssertionError("no such key in 600 tries (each has about a 3% chance)")


def test_a_key_too_long_to_be_a_file_name_is_taken_as_the_key() -> None:
    key = _key_with_long_slashless_run()
    with pytest.raises(OSError, match="File name too long"):
        Path(public_der_b64(key)).is_file()  # what the old "is it a file?" test tripped on
    assert same_key(parse(public_der_b64(key)), key.public_key())
    assert same_key(parse(public_pem(key).decode()), key.public_key())


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("no-such-key.pem", "is neither a key (PEM, or base64 DER starting 'MI') nor a readable key file: No such"),
        ("/", "nor a readable key file: Is a directory"),
        ("x" * 5000, "nor a readable key file: File name too long"),
        ("MIIBIjANBgkqhkiG9w0B", "(taken as key text) could not be parsed as an RSA public key"),
        ("MIIBIjANBgkqhkiG9w0B!", "'MIIBIjANBgkqhkiG9w0B!' is neither a key (PEM, or base64 DER starting 'MI') nor"),
        ("MIIBIjANBgkqhkiG9w0", "(taken as key text) is neither PEM nor valid base64 DER"),
        (private_der_b64(FIXED_KEY), "(taken as key text) is a private key; the public key is needed here"),
        (
            ec.generate_private_key(ec.SECP256R1())
            .public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode(),
            "is an EC (elliptic-curve) key; Antom uses RSA keys",
        ),
        ("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----", "could not be parsed"),
    ],
    ids=[
        "empty",
        "blank",
        "missing-file",
        "directory",
        "long-name",
        "truncated",
        "stray-character",
        "bad-padding",
        "private",
        "ec",
        "bad-pem",
    ],
)
def test_a_bad_value_is_a_usage_error_saying_why(value: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(value)
    assert caught.value.code == 2
    assert f"error: argument {OPTION}: " in caught.value.stderr and message in caught.value.stderr
    with pytest.raises(CommandError, match="argument --merchant-public-key: "):
        parse_manage_py(value)


def test_bad_key_files_name_the_file(tmp_path: Path) -> None:
    cases = {
        "private.pem": FIXED_KEY.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        "garbage.der": b"\x30\x03\x02\x01\x00",
        "latin1.txt": "clé".encode("latin-1"),
        "huge.pem": b"A" * 70_000,
        "empty.pem": b"",
    }
    expected = {
        "private.pem": "is a private key",
        "garbage.der": "(binary DER) could not be parsed",
        "latin1.txt": "is not text",
        "huge.pem": "larger than 65536 bytes",
        "empty.pem": "is empty",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(UsageError) as caught:
            parse(str(tmp_path / name))
        assert f"{OPTION} file {str(tmp_path / name)!r} " in caught.value.stderr, name
        assert expected[name] in caught.value.stderr, (name, caught.value.stderr)


def _mutations(text: str) -> st.SearchStrategy[str]:
    """A real key's text, cut, with a character changed, inserted or removed, or wrapped."""
    n = len(text)
    return st.one_of(
        st.integers(0, n).map(lambda i: text[:i]),
        st.tuples(st.integers(0, n - 1), st.characters()).map(lambda p: text[: p[0]] + p[1] + text[p[0] + 1 :]),
        st.tuples(st.integers(0, n), st.characters()).map(lambda p: text[: p[0]] + p[1] + text[p[0] :]),
        st.integers(0, n - 1).map(lambda i: text[:i] + text[i + 1 :]),
        st.sampled_from(["/", "./", "~/", "\n", " ", "\\n", "\x00"]).map(lambda p: p + text),
    )


VALUES = st.one_of(
    st.text(),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n", max_size=600),
    st.from_regex(r"M[A-P][A-Za-z0-9+/]{0,400}={0,2}", fullmatch=True),
    _mutations(public_der_b64(FIXED_KEY)),
    _mutations(public_pem(FIXED_KEY).decode()),
    _mutations(private_der_b64(FIXED_KEY)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=VALUES)
@example(value=public_der_b64(FIXED_KEY))
@example(value="/etc/passwd")
def test_any_value_is_a_key_or_a_clear_usage_error(value: str) -> None:
    """Property: the parser returns an RSA key or exits with a usage error naming the option."""
    try:
        key = parse(value)
    except UsageError as exc:
        assert exc.code == 2
        assert f"error: argument {OPTION}: " in exc.stderr and "Traceback" not in exc.stderr
        with pytest.raises(CommandError, match=f"argument {OPTION}: "):
            parse_manage_py(value)
    else:  # an RSA key (parse checks the type); a changed modulus digit can still be a valid key
        if value.strip() in (public_der_b64(FIXED_KEY), public_pem(FIXED_KEY).decode().strip()):
            assert same_key(key, FIXED_KEY.public_key())


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=3000) | _mutations(public_pem(FIXED_KEY).decode()).map(str.encode))
def test_any_file_content_is_a_key_or_a_clear_usage_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "key"
        path.write_bytes(data)
        try:
            parse(str(path))
        except UsageError as exc:
            assert f"error: argument {OPTION}: {OPTION} file " in exc.stderr


def _signed_session_works(settings_: dict[str, str], private_key: rsa.RSAPrivateKey) -> None:
    client = AntomClient(
        client_id=settings_["CLIENT_ID"],
        private_key=private_key,
        antom_public_key=settings_["ANTOM_PUBLIC_KEY"],
        gateway_url=settings_["GATEWAY_URL"],
        max_retries=0,
    )
    assert create_session(client).result.status == "S"


@pytest.mark.parametrize("form", ["base64", "pem_text", "der_file"])
def test_python_m_sandbox_trusts_the_key_in_any_form(tmp_path: Path, form: str) -> None:
    key = _key_with_long_slashless_run() if form != "der_file" else generate_private_key()
    der = tmp_path / "merchant.der"
    der.write_bytes(base64.b64decode(public_der_b64(key)))
    value = {"base64": public_der_b64(key), "pem_text": public_pem(key).decode(), "der_file": str(der)}[form]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "antom_django.sandbox", "--port", "0", "--keys-dir", str(tmp_path / "k")]
    process, settings_ = _start([*command, "--client-id", "SANDBOX_5YKEYFORM0000001", OPTION, value], env)
    try:
        _signed_session_works(settings_, key)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize("program", [["-m", "antom_django.sandbox"], ["manage.py", "antom_sandbox"]])
def test_a_bad_key_exits_with_a_usage_error_not_a_traceback(tmp_path: Path, program: list[str]) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    done = subprocess.run(
        [sys.executable, *program, "--port", "0", "--keys-dir", str(tmp_path), OPTION, "MIIBnot-a-key"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"error: argument {OPTION}: {OPTION} 'MIIBnot-a-key' is neither a key" in done.stderr
