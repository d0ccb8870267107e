"""The signer against signature vectors made by Antom's official Python SDK."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from antom_django.client import SignatureError, Signer, Verifier, build_signature_header, parse_signature_header
from antom_django.client.keys import load_private_key, load_public_key
from antom_django.client.signing import content_to_sign
from tests.settings import VECTORS

SHARED = Path(__file__).resolve().parents[3] / "shared" / "antom" / "signature-vectors.json"


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer(load_private_key(VECTORS["merchant_private_key"]))


@pytest.fixture(scope="module")
def antom_verifier() -> Verifier:
    return Verifier(load_public_key(VECTORS["antom_public_key"]))


FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "signature_vectors.json"
# sha256 of shared/antom/signature-vectors.json as made by Antom's official SDK.
VECTORS_SHA256 = "43fb1390aca3adff23cf94b47457a752afe787aceb8501ec9045f5c5bbf2bc78"


def test_fixture_is_the_official_vector_file() -> None:
    """The copy the tests read is byte for byte the shared file (checked directly where shared/ is beside
    the checkout, as in CI; by its pinned hash in a user's clone)."""
    data = FIXTURE.read_bytes()
    assert hashlib.sha256(data).hexdigest() == VECTORS_SHA256
    if SHARED.exists():
        assert SHARED.read_bytes() == data


@pytest.mark.parametrize(
    "vector", VECTORS["requests"], ids=lambda v: v["path"].rsplit("/", 1)[-1] + "@" + v["request_time"]
)
def test_sign_reproduces_vector_byte_for_byte(signer: Signer, vector: dict[str, str]) -> None:
    sig = signer.sign(vector["method"], vector["path"], VECTORS["client_id"], vector["request_time"], vector["body"])
    assert sig == vector["signature"]
    assert build_signature_header(sig) == vector["signature_header"]


@pytest.mark.parametrize("vector", VECTORS["requests"], ids=lambda v: v["request_time"])
def test_sign_bytes_body_equals_str_body(signer: Signer, vector: dict[str, str]) -> None:
    as_bytes = signer.sign(
        vector["method"], vector["path"], VECTORS["client_id"], vector["request_time"], vector["body"].encode()
    )
    assert as_bytes == vector["signature"]


@pytest.mark.parametrize("vector", VECTORS["requests"], ids=lambda v: v["request_time"])
def test_merchant_public_key_verifies_request_vectors(vector: dict[str, str]) -> None:
    verifier = Verifier(load_public_key(VECTORS["merchant_public_key"]))
    header = parse_signature_header(vector["signature_header"])
    verifier.verify(
        vector["method"], vector["path"], VECTORS["client_id"], vector["request_time"], vector["body"], header.signature
    )


@pytest.mark.parametrize("vector", VECTORS["notifications"], ids=lambda v: v.get("why", "valid"))
def test_notification_vectors(antom_verifier: Verifier, vector: dict) -> None:
    args = (vector["method"], vector["path"], vector["client_id"], vector["request_time"], vector["body"])
    if vector["valid"]:
        antom_verifier.verify_header(*args, vector["signature_header"])
    else:
        with pytest.raises(SignatureError, match="does not verify"):
            antom_verifier.verify_header(*args, vector["signature_header"])


def test_content_to_sign_shape() -> None:
    assert content_to_sign("POST", "/p", "cid", "123", '{"a":"订"}') == 'POST /p\ncid.123.{"a":"订"}'.encode()


def test_signature_from_another_key_is_rejected(antom_verifier: Verifier, signer: Signer) -> None:
    note = VECTORS["notifications"][0]
    forged = signer.sign(note["method"], note["path"], note["client_id"], note["request_time"], note["body"])
    with pytest.raises(SignatureError):
        antom_verifier.verify(
            note["method"], note["path"], note["client_id"], note["request_time"], note["body"], forged
        )


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "missing"),
        ("", "missing"),
        ("garbage", "malformed"),
        ("algorithm=RSA256,keyVersion=1", "no signature"),
        ("algorithm=HMAC,keyVersion=1,signature=abc", "unsupported signature algorithm"),
    ],
)
def test_bad_headers(header: str | None, message: str) -> None:
    with pytest.raises(SignatureError, match=message):
        parse_signature_header(header)


def test_header_with_spaces_as_in_docs() -> None:
    parsed = parse_signature_header("algorithm=RSA256, keyVersion=2, signature=abc%3D")
    assert (parsed.algorithm, parsed.key_version, parsed.signature) == ("RSA256", "2", "abc%3D")
    assert "abc" not in repr(parsed)


def test_non_base64_signature(antom_verifier: Verifier) -> None:
    with pytest.raises(SignatureError, match="not valid base64"):
        antom_verifier.verify("POST", "/", "c", "1", "{}", "%%%not*base64")
    assert antom_verifier.is_valid("POST", "/", "c", "1", "{}", "%%%") is False
