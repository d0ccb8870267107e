"""Key parsing: every form Antom and OpenSSL hand out, and a specific error for every wrong one."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from antom_django.client import KeyFormatError
from antom_django.client.keys import (
    load_private_key,
    load_public_key,
    private_der_b64,
    public_der_b64,
    read_key_file,
)
from tests.settings import VECTORS

PRIVATE = load_private_key(VECTORS["merchant_private_key"])
PUBLIC = PRIVATE.public_key()
Enc = serialization.Encoding
PrivFmt = serialization.PrivateFormat
PubFmt = serialization.PublicFormat
NOENC = serialization.NoEncryption()


def b64(der: bytes) -> str:
    return base64.b64encode(der).decode()


def pem_body(pem: bytes) -> str:
    return "".join(line for line in pem.decode().splitlines() if not line.startswith("-----"))


PRIVATE_FORMS = {
    "pkcs8-der-b64": b64(PRIVATE.private_bytes(Enc.DER, PrivFmt.PKCS8, NOENC)),
    "pkcs1-der-b64": b64(PRIVATE.private_bytes(Enc.DER, PrivFmt.TraditionalOpenSSL, NOENC)),
    "pkcs8-pem": PRIVATE.private_bytes(Enc.PEM, PrivFmt.PKCS8, NOENC).decode(),
    "pkcs1-pem": PRIVATE.private_bytes(Enc.PEM, PrivFmt.TraditionalOpenSSL, NOENC).decode(),
}
PUBLIC_FORMS = {
    "spki-der-b64": b64(PUBLIC.public_bytes(Enc.DER, PubFmt.SubjectPublicKeyInfo)),
    "pkcs1-der-b64": b64(PUBLIC.public_bytes(Enc.DER, PubFmt.PKCS1)),
    "spki-pem": PUBLIC.public_bytes(Enc.PEM, PubFmt.SubjectPublicKeyInfo).decode(),
    "pkcs1-pem": PUBLIC.public_bytes(Enc.PEM, PubFmt.PKCS1).decode(),
}


def assert_no_material(message: str, *inputs: str) -> None:
    """No 16-character run of any key text given may show up in an error."""
    for given in inputs:
        compact = re.sub(r"-----[A-Z ]+-----|\s", "", given)
        for i in range(0, max(len(compact) - 16, 0)):
            assert compact[i : i + 16] not in message, "error text leaks key material"


def same_private(key: rsa.RSAPrivateKey) -> bool:
    return private_der_b64(key) == private_der_b64(PRIVATE)


# -- accepted forms -----------------------------------------------------------------------------


def test_vector_keys_are_the_documented_forms() -> None:
    assert VECTORS["merchant_private_key"] == PRIVATE_FORMS["pkcs8-der-b64"]
    assert VECTORS["merchant_public_key"] == PUBLIC_FORMS["spki-der-b64"]


@pytest.mark.parametrize("form", sorted(PRIVATE_FORMS))
def test_private_key_forms(form: str) -> None:
    text = PRIVATE_FORMS[form]
    assert same_private(load_private_key(text))
    assert same_private(load_private_key(text.encode("ascii")))


@pytest.mark.parametrize("form", sorted(PUBLIC_FORMS))
def test_public_key_forms(form: str) -> None:
    text = PUBLIC_FORMS[form]
    assert public_der_b64(load_public_key(text)) == VECTORS["merchant_public_key"]
    assert public_der_b64(load_public_key(text.encode("ascii"))) == VECTORS["merchant_public_key"]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: "\n".join(s[i : i + 64] for i in range(0, len(s), 64)),
        lambda s: "  " + s + "\n\n",
        lambda s: "\r\n".join(s[i : i + 76] for i in range(0, len(s), 76)) + "\r\n",
        lambda s: " ".join(s[i : i + 10] for i in range(0, len(s), 10)),
        lambda s: "\t" + s.replace("A", "A\t", 3),
    ],
    ids=["wrapped-64", "padded", "crlf-76", "spaces", "tabs"],
)
def test_whitespace_inside_base64_is_ignored(mangle) -> None:  # type: ignore[no-untyped-def]
    assert same_private(load_private_key(mangle(VECTORS["merchant_private_key"])))
    assert public_der_b64(load_public_key(mangle(VECTORS["antom_public_key"]))) == VECTORS["antom_public_key"]


def test_pem_with_literal_backslash_n_from_an_env_file() -> None:
    # A PEM pasted into a .env file often arrives as one line with literal "\n".
    one_line = PRIVATE_FORMS["pkcs8-pem"].strip().replace("\n", "\\n")
    assert same_private(load_private_key(one_line))
    pub_line = PUBLIC_FORMS["spki-pem"].strip().replace("\n", "\\n")
    assert public_der_b64(load_public_key(pub_line)) == VECTORS["merchant_public_key"]


def test_pem_with_indentation_and_surrounding_text() -> None:
    pem = PRIVATE_FORMS["pkcs8-pem"]
    assert same_private(load_private_key("\n\n" + pem + "\n  "))


def test_key_files(tmp_path: Path) -> None:
    (tmp_path / "merchant.pem").write_text(PRIVATE_FORMS["pkcs1-pem"])
    (tmp_path / "antom.txt").write_text(VECTORS["antom_public_key"] + "\n")
    assert same_private(load_private_key(read_key_file(tmp_path / "merchant.pem", what="PRIVATE_KEY_FILE")))
    assert (
        public_der_b64(load_public_key(read_key_file(str(tmp_path / "antom.txt"), what="x")))
        == (VECTORS["antom_public_key"])
    )


# -- refused forms ------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KeyFormatError, match=r"PRIVATE_KEY_FILE file '.*nope\.pem' cannot be read: No such file"):
        read_key_file(tmp_path / "nope.pem", what="PRIVATE_KEY_FILE")


def test_directory_as_file(tmp_path: Path) -> None:
    with pytest.raises(KeyFormatError, match="cannot be read: Is a directory"):
        read_key_file(tmp_path, what="ANTOM_PUBLIC_KEY_FILE")


def test_binary_file(tmp_path: Path) -> None:
    der = PRIVATE.private_bytes(Enc.DER, PrivFmt.PKCS8, NOENC)
    (tmp_path / "key.der").write_bytes(der)
    with pytest.raises(KeyFormatError, match="is not a text key file") as info:
        read_key_file(tmp_path / "key.der", what="PRIVATE_KEY_FILE")
    assert_no_material(str(info.value), b64(der))


EC = ec.generate_private_key(ec.SECP256R1())
ED = ed25519.Ed25519PrivateKey.generate()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b64(EC.private_bytes(Enc.DER, PrivFmt.PKCS8, NOENC)), r"is an EC \(elliptic-curve\) key; Antom uses RSA keys"),
        (
            EC.private_bytes(Enc.PEM, PrivFmt.PKCS8, NOENC).decode(),
            r"is an EC \(elliptic-curve\) key; Antom uses RSA keys",
        ),
        (ED.private_bytes(Enc.PEM, PrivFmt.PKCS8, NOENC).decode(), "is an Ed25519 key; Antom uses RSA keys"),
        (PUBLIC_FORMS["spki-der-b64"], "is a public key; the private key is needed here"),
        (PUBLIC_FORMS["spki-pem"], "is a public key; the private key is needed here"),
        (PUBLIC_FORMS["pkcs1-pem"], "is a public key; the private key is needed here"),
        (
            PRIVATE.private_bytes(Enc.PEM, PrivFmt.PKCS8, serialization.BestAvailableEncryption(b"pw")).decode(),
            "is encrypted; supply it without a passphrase",
        ),
        (
            b64(PRIVATE.private_bytes(Enc.DER, PrivFmt.PKCS8, serialization.BestAvailableEncryption(b"pw"))),
            "is encrypted; supply it without a passphrase",
        ),
        ("not-a-key!", "is neither PEM nor valid base64 DER"),
        ("not a key at all", "could not be parsed as an RSA private key"),
        ("c2hvcnQ=", "could not be parsed as an RSA private key"),
        (VECTORS["merchant_private_key"][:400], "neither PEM nor valid base64 DER|could not be parsed"),
        (VECTORS["merchant_private_key"][:-8] + "AAAAAAAA", "could not be parsed as an RSA private key"),
        ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "could not be parsed as an RSA private key"),
        ("-----BEGIN PRIVATE KEY-----\nMIIé\n-----END PRIVATE KEY-----", "could not be parsed as an RSA private key"),
        ("clé privée", "is neither PEM nor valid base64 DER"),
        ("====", "is neither PEM nor valid base64 DER|decodes to zero bytes"),
        ("", "is empty"),
        ("  \n\t ", "is empty"),
        (b"\xff\xfe\x00key", "is not text: expected base64 DER or PEM"),
        ("é".encode(), "is not text: expected base64 DER or PEM"),
    ],
    ids=[
        "ec-der",
        "ec-pem",
        "ed25519-pem",
        "public-b64-as-private",
        "public-pem-as-private",
        "pkcs1-public-pem-as-private",
        "encrypted-pem",
        "encrypted-der",
        "garbage",
        "base64-alphabet-words",
        "short-base64",
        "truncated",
        "corrupted-tail",
        "empty-pem-body",
        "non-ascii-pem",
        "non-ascii-text",
        "only-padding",
        "empty",
        "blank",
        "non-ascii-bytes",
        "utf8-bytes",
    ],
)
def test_bad_private_keys(text: str | bytes, message: str) -> None:
    with pytest.raises(KeyFormatError, match=message) as info:
        load_private_key(text, what="PRIVATE_KEY")
    msg = str(info.value)
    assert msg.startswith("PRIVATE_KEY ")
    if isinstance(text, str):
        assert_no_material(msg, text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b64(EC.public_key().public_bytes(Enc.DER, PubFmt.SubjectPublicKeyInfo)), r"is an EC \(elliptic-curve\) key"),
        (
            EC.public_key().public_bytes(Enc.PEM, PubFmt.SubjectPublicKeyInfo).decode(),
            r"is an EC \(elliptic-curve\) key",
        ),
        (VECTORS["merchant_private_key"], "is a private key; the public key is needed here"),
        (PRIVATE_FORMS["pkcs1-der-b64"], "is a private key; the public key is needed here"),
        (PRIVATE_FORMS["pkcs8-pem"], "is a private key; the public key is needed here"),
        (PRIVATE_FORMS["pkcs1-pem"], "is a private key; the public key is needed here"),
        ("garbage!", "is neither PEM nor valid base64 DER"),
        ("c2hvcnQ=", "could not be parsed as an RSA public key"),
        (VECTORS["antom_public_key"][:-12] + "AAAAAAAAAAAA", "could not be parsed as an RSA public key"),
        ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "could not be parsed as an RSA public key"),
        ("", "is empty"),
        (b"\x80\x81", "is not text"),
    ],
    ids=[
        "ec-der",
        "ec-pem",
        "pkcs8-b64-as-public",
        "pkcs1-b64-as-public",
        "pkcs8-pem-as-public",
        "pkcs1-pem-as-public",
        "garbage",
        "short-base64",
        "corrupted-tail",
        "empty-pem-body",
        "empty",
        "non-ascii-bytes",
    ],
)
def test_bad_public_keys(text: str | bytes, message: str) -> None:
    with pytest.raises(KeyFormatError, match=message) as info:
        load_public_key(text, what="ANTOM_PUBLIC_KEY")
    msg = str(info.value)
    assert msg.startswith("ANTOM_PUBLIC_KEY ")
    if isinstance(text, str):
        assert_no_material(msg, text)


@pytest.mark.parametrize("value", [None, 42, ["MII..."]])
def test_wrong_python_type(value: object) -> None:
    with pytest.raises(KeyFormatError, match="must be a string, not"):
        load_private_key(value)  # type: ignore[arg-type]
    with pytest.raises(KeyFormatError, match="must be a string, not"):
        load_public_key(value)  # type: ignore[arg-type]


def test_errors_have_no_library_cause() -> None:
    with pytest.raises(KeyFormatError) as info:
        load_private_key(VECTORS["merchant_private_key"][:-8] + "AAAAAAAA")
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__ is True


def test_short_key_still_loads() -> None:
    # Weak keys are reported by the W002 system check, not refused here.
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    assert load_private_key(private_der_b64(small)).key_size == 1024
