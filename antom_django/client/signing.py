"""Antom's RSA256 signature scheme: the one place that builds, signs and verifies.

String to sign (requests, responses and notifications alike)::

    <METHOD> <path>\\n<client-id>.<request-time or response-time>.<raw body>

RSA PKCS#1 v1.5 over SHA-256, standard base64, then form-URL-encoded, carried as
``signature: algorithm=RSA256,keyVersion=1,signature=<value>``.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import unquote_plus

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .errors import SignatureError

ALGORITHM = "RSA256"
DEFAULT_KEY_VERSION = "1"

_PADDING = padding.PKCS1v15()
_HASH = hashes.SHA256()


def content_to_sign(method: str, path: str, client_id: str, timestamp: str, body: str | bytes) -> bytes:
    """The exact bytes Antom signs: ``METHOD path\\nclient-id.time.body``."""
    # One f-string and one encode: this runs on every request, response and notification.
    head = f"{method} {path}\n{client_id}.{timestamp}.".encode()
    return head + (body if isinstance(body, bytes) else body.encode())


def _url_encode(b64: str) -> str:
    # Standard base64 has three characters outside [A-Za-z0-9]; escaping just those gives
    # quote_plus's exact output at a small fraction of its cost (this runs on every request).
    return b64.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")


def _url_decode(value: str) -> str:
    # Fast path for the three escapes base64 needs; anything else goes through
    # full form-decoding, as Antom's SDKs do (``unquote_plus``).
    if "+" not in value:
        fast = value.replace("%2B", "+").replace("%2F", "/").replace("%3D", "=")
        if "%" not in fast:
            return fast
    return unquote_plus(value)


def _decode_signature(value: str) -> bytes:
    try:
        return base64.b64decode(_url_decode(value), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("signature is not valid base64") from None


@dataclass(frozen=True, slots=True)
class SignatureHeader:
    """The parsed ``signature`` header."""

    algorithm: str
    key_version: str
    signature: str

    def __repr__(self) -> str:
        return f"SignatureHeader(algorithm={self.algorithm!r}, key_version={self.key_version!r}, signature=<{len(self.signature)} chars>)"


def parse_signature_header(header: str | None) -> SignatureHeader:
    """Parse ``algorithm=RSA256,keyVersion=1,signature=...`` (spaces after commas allowed)."""
    if not header or not header.strip():
        raise SignatureError("signature header is missing")
    fields: dict[str, str] = {}
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureError("signature header is malformed: expected name=value pairs")
        fields[name.strip()] = value.strip()
    signature = fields.get("signature")
    if not signature:
        raise SignatureError("signature header has no signature= value")
    algorithm = fields.get("algorithm", ALGORITHM)
    if algorithm != ALGORITHM:
        raise SignatureError(f"unsupported signature algorithm {algorithm[:20]!r}; expected RSA256")
    return SignatureHeader(algorithm, fields.get("keyVersion", DEFAULT_KEY_VERSION), signature)


def build_signature_header(signature: str, key_version: str = DEFAULT_KEY_VERSION) -> str:
    """The ``signature`` header value for an already URL-encoded signature."""
    return f"algorithm={ALGORITHM},keyVersion={key_version},signature={signature}"


class Signer:
    """Signs with one pre-loaded RSA private key."""

    __slots__ = ("_key",)

    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        self._key = private_key

    def __repr__(self) -> str:
        return f"<Signer rsa-{self._key.key_size}>"

    def sign(self, method: str, path: str, client_id: str, timestamp: str, body: str | bytes) -> str:
        """The URL-encoded base64 signature, as it goes into the header."""
        raw = self._key.sign(content_to_sign(method, path, client_id, timestamp, body), _PADDING, _HASH)
        return _url_encode(base64.b64encode(raw).decode("ascii"))


class Verifier:
    """Verifies with one pre-loaded RSA public key."""

    __slots__ = ("_key",)

    def __init__(self, public_key: rsa.RSAPublicKey) -> None:
        self._key = public_key

    def __repr__(self) -> str:
        return f"<Verifier rsa-{self._key.key_size}>"

    def verify(
        self,
        method: str,
        path: str,
        client_id: str,
        timestamp: str,
        body: str | bytes,
        signature: str,
    ) -> None:
        """Raise :class:`SignatureError` unless ``signature`` (URL-encoded) is valid."""
        raw = _decode_signature(signature)
        try:
            self._key.verify(raw, content_to_sign(method, path, client_id, timestamp, body), _PADDING, _HASH)
        except InvalidSignature:
            raise SignatureError("signature does not verify with Antom's public key") from None

    def verify_header(
        self,
        method: str,
        path: str,
        client_id: str,
        timestamp: str,
        body: str | bytes,
        header: str | None,
    ) -> SignatureHeader:
        """Parse a ``signature`` header and verify it; returns the parsed header."""
        parsed = parse_signature_header(header)
        self.verify(method, path, client_id, timestamp, body, parsed.signature)
        return parsed

    def is_valid(
        self,
        method: str,
        path: str,
        client_id: str,
        timestamp: str,
        body: str | bytes,
        signature: str,
    ) -> bool:
        """``True`` if the signature verifies; never raises for bad input."""
        try:
            self.verify(method, path, client_id, timestamp, body, signature)
        except SignatureError:
            return False
        return True
